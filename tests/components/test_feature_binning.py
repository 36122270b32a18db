"""HeteroFeatureBinning as a component: FATE model files, exact counts, transform, predict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fedloom.components import (
    ComponentError,
    InputArtifact,
    TaskHooks,
    TaskResult,
    load_model,
    load_table,
    run_task,
    save_table,
)
from fedloom.crypto import CipherVector, generate_paillier_keypair, generate_plain_keypair
from fedloom.data import Table
from fedloom.federation import HarnessResult, JobParties, KeyRing, Party, PartyFailed, run_parties
from fedloom.ml.feature_binning import woe_iv
from fedloom.ml.feature_binning.splits import bin_index

PARTIES = JobParties.of(guest=9999, hosts=[10000])
GUEST, HOST = Party("guest", 9999), Party("host", 10000)
PLAIN = TaskHooks(keygen=generate_plain_keypair)
MODULE = "HeteroFeatureBinning"


def relaxed() -> KeyRing:
    """Admit the stand-in and small keys (tests only)."""
    return KeyRing(min_key_length=256, allow_plain=True)


def make_split(out: Path, rows: int = 400, classes: int = 2) -> tuple[Path, Path, dict[str, Any]]:
    """Aligned guest (label + 3 features) and host (4 features, one categorical) tables."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(rows, 7))
    x[:, 6] = rng.integers(0, 4, rows)
    z = x[:, :6] @ rng.normal(size=6) + x[:, 6] * 0.3
    if classes == 2:
        y = (z + 0.3 * rng.normal(size=rows) > 0).astype(np.float64)
    else:
        y = np.digitize(z, np.quantile(z, [1 / 3, 2 / 3])).astype(np.float64)
    ids = [f"id{i:04d}" for i in range(rows)]
    guest = save_table(out / "guest.npz", Table(ids, ["x0", "x1", "x2"], x[:, :3], y))
    host = save_table(out / "host.npz", Table(ids, ["h0", "h1", "h2", "h3"], x[:, 3:]))
    return guest, host, {"x": x, "y": y}


def run_binning(
    params: dict[str, Any] | dict[Party, dict[str, Any]],
    inputs: dict[Party, dict[str, InputArtifact]],
    out: Path,
    hooks: TaskHooks = PLAIN,
) -> tuple[dict[Party, TaskResult], HarnessResult]:
    """Run the module at the guest and the host in threads."""

    def task(party: Party) -> Callable[[Any], TaskResult]:
        own: dict[str, Any] = params[party] if party in params else params  # type: ignore[index,assignment]

        def run(ctx: Any) -> TaskResult:
            return run_task(
                MODULE,
                party.role,
                party.party_id,
                ctx.sub("binning_0"),
                own,
                inputs[party],
                out / party.role,
                hooks=hooks,
            )

        return run

    harness = run_parties(PARTIES, {p: task(p) for p in PARTIES.all}, keyring=relaxed, timeout=60)
    return harness.results, harness


def fit(
    out: Path, params: dict[str, Any], tables: tuple[Path, Path], hooks: TaskHooks = PLAIN
) -> tuple[dict[Party, TaskResult], HarnessResult]:
    """Fit on the guest and host tables."""
    inputs = {
        GUEST: {"data": InputArtifact("data", tables[0])},
        HOST: {"data": InputArtifact("data", tables[1])},
    }
    return run_binning(params, inputs, out, hooks)


def model_path(result: TaskResult) -> Path:
    """A task's model file (it must have one)."""
    assert result.model is not None
    return result.model


def check_counts(results: dict[Party, TaskResult], data: dict[str, Any]) -> None:
    """Every guest and host column's counts equal a centralised recount; IV to 1e-6."""
    x, y = data["x"], data["y"]
    assert results[GUEST].model is not None and results[HOST].model is not None
    guest = load_model(model_path(results[GUEST]))["model_param"]
    host = load_model(model_path(results[HOST]))["model_param"]
    columns = {name: x[:, i] for i, name in enumerate(guest["header"])}
    for name, entry in guest["binning_result"].items():
        bins = bin_index(columns[name], entry["split_points"])
        events = np.bincount(bins, weights=y, minlength=entry["bin_nums"]).astype(int)
        non_events = np.bincount(bins, minlength=entry["bin_nums"]) - events
        assert entry["event_count_array"] == events.tolist()
        assert entry["non_event_count_array"] == non_events.tolist()
        assert abs(entry["iv"] - woe_iv(events, non_events, 0.5)["iv"]) < 1e-6
    (seen,) = guest["host_results"]
    assert seen["party_id"] == 10000
    for index, name in enumerate(host["header"]):
        entry = host["binning_result"][name]
        assert set(entry) == {"split_points", "bin_nums"}  # no label information at the host
        stats = seen["binning_result"][f"host_10000_{index}"]
        assert "split_points" not in stats
        bins = bin_index(x[:, 3 + index], entry["split_points"])
        events = np.bincount(bins, weights=y, minlength=entry["bin_nums"]).astype(int)
        non_events = np.bincount(bins, minlength=entry["bin_nums"]) - events
        assert stats["event_count_array"] == events.tolist()
        assert stats["non_event_count_array"] == non_events.tolist()
        assert abs(stats["iv"] - woe_iv(events, non_events, 0.5)["iv"]) < 1e-6


@pytest.mark.integration
def test_fit_writes_fate_models_whose_counts_match_a_centralised_recount(tmp_path: Path) -> None:
    guest_t, host_t, data = make_split(tmp_path)
    params = {"bin_num": 5, "transform_param": {"transform_type": None}}
    results, _ = fit(tmp_path, params, (guest_t, host_t))
    check_counts(results, data)
    assert results[GUEST].model is not None
    document = load_model(model_path(results[GUEST]))
    entry = document["model_param"]["binning_result"]["x0"]
    assert set(entry) >= {
        "split_points",
        "event_count_array",
        "non_event_count_array",
        "woe_array",
        "iv_array",
        "iv",
        "bin_nums",
        "is_woe_monotonic",
    }
    assert document["model_meta"]["method"] == "quantile"
    assert document["model_meta"]["bin_num"] == 5
    assert set(results[GUEST].metrics["iv"]) == {"x0", "x1", "x2"}
    # transform_type null: the data pass through unchanged
    assert np.array_equal(load_table(results[GUEST].data["data"]).features, data["x"][:, :3])


@pytest.mark.integration
@pytest.mark.slow
def test_real_paillier_keys_give_the_same_exact_counts(tmp_path: Path) -> None:
    guest_t, host_t, data = make_split(tmp_path, rows=200)
    key = generate_paillier_keypair(512)
    params = {"bin_num": 4, "encrypt_param": {"method": "Paillier", "key_length": 512}}
    results, harness = fit(tmp_path, params, (guest_t, host_t), TaskHooks(keygen=lambda b: key))
    check_counts(results, data)
    to_host = [r.value for r in harness.received[HOST]]
    assert any(isinstance(v, CipherVector) for v in to_host)
    assert not any(isinstance(v, np.ndarray | float) for v in to_host)


@pytest.mark.integration
def test_bin_num_transform_and_predict_mode_replay_the_split_points(tmp_path: Path) -> None:
    guest_t, host_t, data = make_split(tmp_path)
    params = {"bin_num": 4, "category_names": None, "bin_indexes": [0, 1]}
    host_params = {"bin_num": 4, "category_indexes": [3]}
    both = {GUEST: params, HOST: host_params}
    results, _ = fit(tmp_path / "fit", both, (guest_t, host_t))  # type: ignore[arg-type]
    guest_out = load_table(results[GUEST].data["data"]).features
    assert results[GUEST].model is not None and results[HOST].model is not None
    model = load_model(model_path(results[GUEST]))["model_param"]["binning_result"]
    assert set(model) == {"x0", "x1"}
    assert (
        guest_out[:, 0].tolist() == bin_index(data["x"][:, 0], model["x0"]["split_points"]).tolist()
    )
    assert np.array_equal(guest_out[:, 2], data["x"][:, 2])  # not binned, not transformed
    host_model = load_model(model_path(results[HOST]))["model_param"]["binning_result"]
    assert host_model["h3"]["split_points"] == [0.0, 1.0, 2.0, 3.0]  # a bin per category
    predict = {
        GUEST: {
            "data": InputArtifact("data", guest_t),
            "model": InputArtifact("model", model_path(results[GUEST])),
        },
        HOST: {
            "data": InputArtifact("data", host_t),
            "model": InputArtifact("model", model_path(results[HOST])),
        },
    }
    replayed, harness = run_binning({}, predict, tmp_path / "predict")
    assert np.array_equal(load_table(replayed[GUEST].data["data"]).features, guest_out)
    host_fit = load_table(results[HOST].data["data"]).features
    assert np.array_equal(load_table(replayed[HOST].data["data"]).features, host_fit)
    assert not any(harness.received[p] for p in PARTIES.all)  # transform exchanges nothing


@pytest.mark.integration
def test_woe_transform_replaces_guest_columns_and_is_refused_at_a_host(tmp_path: Path) -> None:
    guest_t, host_t, data = make_split(tmp_path)
    woe = {"bin_num": 5, "transform_param": {"transform_type": "woe"}}
    both = {GUEST: woe, HOST: {"bin_num": 5}}
    results, _ = fit(tmp_path / "ok", both, (guest_t, host_t))  # type: ignore[arg-type]
    assert results[GUEST].model is not None
    model = load_model(model_path(results[GUEST]))["model_param"]["binning_result"]["x1"]
    out = load_table(results[GUEST].data["data"]).features[:, 1]
    bins = bin_index(data["x"][:, 1], model["split_points"])
    assert out.tolist() == [model["woe_array"][b] for b in bins]
    with pytest.raises(PartyFailed, match="woe transform replaces the guest's columns only"):
        fit(tmp_path / "bad", woe, (guest_t, host_t))


@pytest.mark.integration
def test_local_only_and_skip_static_send_no_labels(tmp_path: Path) -> None:
    guest_t, host_t, _ = make_split(tmp_path)
    for option in ("local_only", "skip_static"):
        results, harness = fit(tmp_path / option, {option: True}, (guest_t, host_t))
        assert [r.value for r in harness.received[HOST]] == [{"stats": False, "optimal": False}]
        assert results[GUEST].model is not None
        param = load_model(model_path(results[GUEST]))["model_param"]
        assert param["host_results"] == []
        if option == "skip_static":
            assert set(param["binning_result"]["x0"]) == {"split_points", "bin_nums"}


@pytest.mark.integration
def test_multi_class_labels_give_one_result_per_class(tmp_path: Path) -> None:
    guest_t, host_t, data = make_split(tmp_path, classes=3)
    results, _ = fit(tmp_path, {"bin_num": 4}, (guest_t, host_t))
    assert results[GUEST].model is not None
    param = load_model(model_path(results[GUEST]))["model_param"]
    multi = param["multi_class_result"]
    assert multi["labels"] == ["0", "1", "2"]
    assert len(multi["results"]) == 3 and len(multi["host_results"]) == 3
    entry = multi["results"][2]["binning_result"]["x0"]
    bins = bin_index(data["x"][:, 0], entry["split_points"])
    events = np.bincount(bins, weights=data["y"] == 2, minlength=entry["bin_nums"]).astype(int)
    assert entry["event_count_array"] == events.tolist()


@pytest.mark.integration
def test_optimal_binning_through_the_component(tmp_path: Path) -> None:
    guest_t, host_t, data = make_split(tmp_path)
    params = {
        "method": "optimal",
        "bin_num": 4,
        "optimal_binning_param": {"metric_method": "gini", "init_bin_nums": 40},
        "transform_param": {"transform_type": None},
    }
    results, _ = fit(tmp_path, params, (guest_t, host_t))
    check_counts(results, data)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"method": "optimal", "skip_static": True}, "not with skip_static"),
        ({"bin_indexes": 3}, "use -1"),
        ({"abnormal": 1}, "abnormal"),
        ({"method": "chimerge"}, "method"),
        ({"split_points_by_index": {"x": [1]}}, "column indexes"),
    ],
)
def test_bad_parameters_are_refused_with_their_name(
    tmp_path: Path, params: dict[str, Any], message: str
) -> None:
    guest_t, _, _ = make_split(tmp_path, rows=20)
    from fedloom.federation import Context, InMemoryTransport, Messenger

    ctx = Context(
        local=GUEST, parties=PARTIES, messenger=Messenger(InMemoryTransport(), "job", GUEST)
    )
    with pytest.raises(ComponentError, match=message):
        run_task(
            MODULE, "guest", 9999, ctx, params, {"data": InputArtifact("data", guest_t)}, tmp_path
        )


@pytest.mark.integration
@pytest.mark.slow
def test_thirty_thousand_rows_match_the_centralised_recount(tmp_path: Path) -> None:
    guest_t, host_t, data = make_split(tmp_path, rows=30000)
    results, _ = fit(tmp_path, {"transform_param": {"transform_type": None}}, (guest_t, host_t))
    check_counts(results, data)
    host = load_model(model_path(results[GUEST]))["model_param"]["host_results"][0]
    assert all("split_points" not in r for r in host["binning_result"].values())
