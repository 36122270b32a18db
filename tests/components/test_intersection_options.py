"""The Intersection component's FATE options: dh, caches, cardinality, preprocessing, new ids.

Guest and host run ``run_task`` in one process over the in-memory transport; what crosses the
transport is inspected through ``HarnessResult.received``.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fedloom.components import ComponentError, InputArtifact, TaskResult, run_task
from fedloom.components.intersection import INTERSECTION, IntersectionParam
from fedloom.components.io import load_table, save_table
from fedloom.data import Table
from fedloom.federation import HarnessResult, JobParties, Party, PartyFailed, run_parties

GUEST, HOST = Party("guest", 9999), Party("host", 10000)


def _ids(prefix: str, start: int, stop: int) -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(start, stop)]


def _data(path: Path, ids: list[str], labels: bool) -> InputArtifact:
    features = np.arange(len(ids) * 2, dtype=float).reshape(len(ids), 2)
    y = np.arange(len(ids), dtype=float) % 2 if labels else None
    return InputArtifact("data", save_table(path, Table(ids, ["a", "b"], features, y)))


def _run(
    tmp: Path,
    params: dict[str, Any],
    guest_ids: list[str],
    host_ids: list[str],
    caches: dict[str, Path] | None = None,
    host_params: dict[str, Any] | None = None,
) -> tuple[dict[str, TaskResult], HarnessResult]:
    params = {"rsa_params": {"key_length": 1024}, **params}
    inputs = {
        "guest": {"data": _data(tmp / "g.npz", guest_ids, True)},
        "host": {"data": _data(tmp / "h.npz", host_ids, False)},
    }
    for role, path in (caches or {}).items():
        inputs[role]["cache"] = InputArtifact("cache", path)
    parties = JobParties.of(guest=9999, hosts=[10000])

    def task(role: str, party_id: int, p: dict[str, Any]) -> Any:
        return lambda ctx: run_task(
            "Intersection",
            role,
            party_id,
            ctx.sub("intersection_0"),
            p,
            inputs[role],
            tmp / role,
        )

    tasks = {GUEST: task("guest", 9999, params), HOST: task("host", 10000, host_params or params)}
    harness = run_parties(parties, tasks, timeout=120)
    return {p.role: harness.results[p] for p in (GUEST, HOST)}, harness


def _received(harness: HarnessResult, who: Party, suffix: str) -> list[Any]:
    return [r.value for r in harness.received[who] if r.tag.endswith(suffix)]


@pytest.mark.integration
@pytest.mark.parametrize("method", ["rsa", "ecdh", "dh"])
def test_methods_with_salt_align_both_tables(tmp_path: Path, method: str) -> None:
    params = {"intersect_method": method, f"{method}_params": {"salt": "s", "hash_method": "sm3"}}
    if method == "rsa":
        params["rsa_params"] = {"salt": "s", "hash_method": "sm3", "key_length": 1024}
    out, _ = _run(tmp_path, params, _ids("u", 0, 30), _ids("u", 20, 50))
    guest, host = load_table(out["guest"].data["data"]), load_table(out["host"].data["data"])
    assert guest.ids == host.ids == _ids("u", 20, 30)
    assert out["guest"].metrics["intersect_method"] == method
    assert out["guest"].metrics["intersect_count"] == 10 and out["guest"].cache is None


@pytest.mark.integration
def test_random_base_fraction_still_blinds_every_id_afresh(tmp_path: Path) -> None:
    params = {"rsa_params": {"key_length": 1024, "random_base_fraction": 0.2}}
    first, harness = _run(tmp_path / "1", params, _ids("u", 0, 30), _ids("u", 20, 50))
    assert load_table(first["guest"].data["data"]).ids == _ids("u", 20, 30)
    _, repeat = _run(tmp_path / "2", params, _ids("u", 0, 30), _ids("u", 20, 50))
    # the same ids blinded twice under the host's (new) key share nothing either: each query
    # row is new, within a run and across runs
    rows = [np.concatenate(_received(h, HOST, "/query")) for h in (harness, repeat)]
    seen = {row.tobytes() for batch in rows for row in batch}
    assert len(seen) == sum(len(batch) for batch in rows) == 60


@pytest.mark.integration
@pytest.mark.parametrize("method", ["rsa", "ecdh", "dh"])
def test_run_cache_then_input_cache(tmp_path: Path, method: str) -> None:
    host_ids = _ids("u", 10, 60)
    first, _ = _run(
        tmp_path / "1", {"intersect_method": method, "run_cache": True}, _ids("u", 0, 30), host_ids
    )
    caches = {role: first[role].cache for role in ("guest", "host")}
    for path in caches.values():
        assert path is not None and path.name == "cache.npz"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with np.load(path, allow_pickle=False) as archive:
            assert "meta" in archive.files
    paths = {role: p for role, p in caches.items() if p is not None}
    second, harness = _run(
        tmp_path / "2", {"intersect_method": method}, _ids("u", 40, 80), host_ids, caches=paths
    )
    assert load_table(second["guest"].data["data"]).ids == _ids("u", 40, 60)
    assert load_table(second["host"].data["data"]).ids == _ids("u", 40, 60)
    assert _received(harness, GUEST, "/values") == []  # the host skipped its own ids
    assert second["guest"].cache is None

    swapped = {"guest": paths["host"], "host": paths["guest"]}
    with pytest.raises(PartyFailed, match="written by another role"):
        _run(tmp_path / "3", {"intersect_method": method}, ["a"], ["a"], caches=swapped)
    other = "ecdh" if method != "ecdh" else "dh"
    with pytest.raises(PartyFailed, match="made by intersect_method"):
        _run(tmp_path / "4", {"intersect_method": other}, _ids("u", 0, 3), host_ids, caches=paths)
    with pytest.raises(PartyFailed, match=r"makes a cache .run_cache. or uses one"):
        _run(
            tmp_path / "5",
            {"intersect_method": method, "run_cache": True},
            ["a"],
            host_ids,
            caches=paths,
        )


@pytest.mark.integration
def test_an_unreadable_cache_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a cache")
    with pytest.raises(PartyFailed, match="not a readable cache"):
        _run(tmp_path, {"intersect_method": "ecdh"}, ["a"], ["a"], caches={"guest": bad})


@pytest.mark.integration
@pytest.mark.parametrize("sync", [False, True])
def test_cardinality_only_outputs_the_count_only(tmp_path: Path, sync: bool) -> None:
    params = {"cardinality_only": True, "cardinality_method": "dh", "sync_cardinality": sync}
    out, harness = _run(tmp_path, params, _ids("u", 0, 30), _ids("u", 25, 40))
    assert out["guest"].data == {} and out["guest"].metrics["intersect_count"] == 5
    assert out["guest"].metrics["cardinality_only"] is True
    assert out["host"].data == {} and out["host"].metrics["intersect_count"] == (
        5 if sync else None
    )
    tags = {r.tag for r in harness.received[GUEST]} | {r.tag for r in harness.received[HOST]}
    assert not any(t.endswith("intersect_positions") for t in tags)


@pytest.mark.integration
def test_split_calculation_through_the_component(tmp_path: Path) -> None:
    params = {"rsa_params": {"key_length": 1024, "split_calculation": True}}
    out, harness = _run(tmp_path, params, _ids("u", 0, 60), _ids("u", 30, 90))
    guest, host = load_table(out["guest"].data["data"]), load_table(out["host"].data["data"])
    assert guest.ids == host.ids == _ids("u", 30, 60)
    assert _received(harness, HOST, "split-odd/hello")  # the guest signs the odd half


@pytest.mark.integration
def test_new_sample_id_replaces_ids_at_both_sides(tmp_path: Path) -> None:
    params = {"intersect_method": "ecdh", "new_sample_id": True, "sample_id_generator": "host"}
    out, harness = _run(tmp_path, params, _ids("u", 0, 30), _ids("u", 20, 50))
    guest, host = load_table(out["guest"].data["data"]), load_table(out["host"].data["data"])
    assert guest.ids == host.ids and len(guest.ids) == 10
    assert not set(guest.ids) & set(_ids("u", 0, 50))
    assert guest.features.tolist() == [[2.0 * i, 2.0 * i + 1] for i in range(20, 30)]
    (sent,) = _received(harness, GUEST, "new_sample_ids")
    assert sent == guest.ids


@pytest.mark.integration
def test_left_join_with_new_sample_ids(tmp_path: Path) -> None:
    params = {"intersect_method": "ecdh", "new_sample_id": True, "join_method": "left_join"}
    out, harness = _run(tmp_path, params, _ids("u", 0, 30), _ids("u", 20, 50))
    guest, host = load_table(out["guest"].data["data"]), load_table(out["host"].data["data"])
    assert guest.ids == host.ids and len(guest.ids) == 30  # every guest row, at both sides
    assert not set(guest.ids) & set(_ids("u", 0, 50))  # under fresh ids only
    assert guest.features.tolist()[:10] == [[2.0 * i, 2.0 * i + 1] for i in range(20, 30)]
    assert guest.features.tolist()[10:] == [[2.0 * i, 2.0 * i + 1] for i in range(20)]
    assert host.features[:10].tolist() == [[2.0 * i, 2.0 * i + 1] for i in range(10)]
    assert np.isnan(host.features[10:]).all()
    (left,) = _received(harness, HOST, "left_join_ids")
    assert left == guest.ids[10:]
    assert out["guest"].metrics["intersect_count"] == 10


@pytest.mark.integration
def test_run_preprocess_through_the_component(tmp_path: Path) -> None:
    params = {
        "intersect_method": "ecdh",
        "run_preprocess": True,
        "intersect_preprocess_params": {"filter_owner": "host", "false_positive_rate": 0.01},
    }
    out, harness = _run(tmp_path, params, _ids("u", 0, 200), _ids("u", 190, 210))
    assert load_table(out["guest"].data["data"]).ids == _ids("u", 190, 200)
    assert len(_received(harness, GUEST, "preprocess_filter")) == 1
    assert sum(len(q) for q in _received(harness, HOST, "/query")) < 30  # ~10 + false positives


@pytest.mark.unit
@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (
            {"rsa_params": {"split_calculation": True}, "sync_intersect_ids": False},
            "learn it without being told",
        ),
        ({"rsa_params": {"random_base_fraction": 1.5}}, "less than or equal to 1"),
        ({"rsa_params": {"hash_method": "md5"}}, "md5 is broken"),
        ({"dh_params": {"key_length": 1536}}, "1024, 2048, 3072, 4096"),
        ({"join_method": "left_join"}, "not supported without new_sample_id"),
        ({"join_method": "outer_join"}, "expected one of"),
        ({"join_role": "host"}, "only applies to the raw method"),
        ({"intersect_method": "raw"}, "reveals hashes of ids"),
        ({"cardinality_only": True, "cardinality_method": "rsa"}, "unblinds each answer"),
        ({"cardinality_method": "dh"}, "cardinality_only is false"),
        (
            {"intersect_preprocess_params": {"filter_owner": "host"}},
            "neither run_preprocess nor cardinality_only",
        ),
        ({"intersect_cache_param": {"use_cache": True}}, "deprecated in FATE 1.7"),
        ({"new_sample_id": True, "sync_intersect_ids": False}, "needs sync_intersect_ids"),
        ({"sample_id_generator": "host"}, "without new_sample_id"),
        ({"repeated_id_process": True}, "ids must be unique"),
        ({"run_cache": True, "cardinality_only": True}, "a cache holds keyed ids"),
        ({"run_cache": True, "run_preprocess": True}, "Bloom filter"),
        (
            {"run_preprocess": True, "intersect_preprocess_params": {"encrypt_method": "x"}},
            "hashes",
        ),
    ],
)
def test_refused_options_name_their_reason(params: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match="validation error") as info:
        IntersectionParam.model_validate(params)
    assert fragment in str(info.value)


@pytest.mark.unit
def test_declaration_and_accepted_fate_defaults() -> None:
    assert INTERSECTION.cache_inputs == {"cache": (0, 1)}
    assert INTERSECTION.outputs == frozenset({"data", "cache"})
    for name in ("rsa_params.salt", "dh_params.key_length", "run_cache", "cardinality_only"):
        assert name in INTERSECTION.consistent_params
    fate = IntersectionParam.model_validate(
        {
            "intersect_method": "DH",
            "dh_params": {"salt": "AbC", "hash_method": "SHA512", "key_length": 3072},
            "intersect_cache_param": {},
            "rsa_params": {"random_base_fraction": None, "split_calculation": False},
        }
    )
    ml = fate.to_ml()
    assert ml.intersect_method == "dh" and ml.dh_params.salt == "AbC"
    assert ml.dh_params.hash_method == "sha512" and ml.dh_params.key_length == 3072
    card = IntersectionParam.model_validate({"cardinality_only": True}).to_ml()
    assert card.intersect_method == "ecdh" and card.cardinality_only


@pytest.mark.integration
def test_a_cache_input_must_be_a_cache_artifact(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    path.write_bytes(b"x")
    with pytest.raises(PartyFailed) as info:
        _run(tmp_path, {"intersect_method": "ecdh"}, ["a"], ["a"], caches={"host": path})
    assert isinstance(info.value.error, ComponentError)
