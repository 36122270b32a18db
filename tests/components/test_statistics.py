"""DataStatistics as a component: FATE's model fields, column choice, refusals."""

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
from fedloom.data import Table
from fedloom.federation import JobParties, KeyRing, Party, PartyFailed, run_parties

pytestmark = pytest.mark.integration

PARTIES = JobParties.of(guest=9999, hosts=[10000])
GUEST, HOST = PARTIES.guest, PARTIES.hosts[0]


def run_module(
    module: str,
    params: dict[str, Any],
    inputs: dict[Party, dict[str, InputArtifact]],
    out: Path,
    parties: JobParties = PARTIES,
    hooks: TaskHooks | None = None,
    party_params: dict[Party, dict[str, Any]] | None = None,
) -> dict[Party, TaskResult]:
    """Run ``module`` at every party in threads (``party_params`` replace ``params`` at the
    parties they name); results by party."""

    def task(party: Party) -> Callable[[Any], TaskResult]:
        def run(ctx: Any) -> TaskResult:
            return run_task(
                module,
                party.role,
                party.party_id,
                ctx.sub("c_0"),
                (party_params or {}).get(party, params),
                inputs.get(party, {}),
                out / f"{party.role}{party.party_id}",
                hooks=hooks,
            )

        return run

    keyring = lambda: KeyRing(min_key_length=256, allow_plain=True)  # noqa: E731
    harness = run_parties(parties, {p: task(p) for p in parties.all}, keyring=keyring, timeout=60)
    return harness.results


def _tables(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 5))
    x[3, 1] = np.nan
    ids = [str(i) for i in range(50)]
    g = save_table(tmp_path / "g.npz", Table(ids, ["a", "b", "c"], x[:, :3], np.zeros(50)))
    h = save_table(tmp_path / "h.npz", Table(ids, ["d", "e"], x[:, 3:]))
    return g, h, x


def test_each_party_describes_its_own_columns(tmp_path: Path) -> None:
    g, h, x = _tables(tmp_path)
    inputs = {GUEST: {"data": InputArtifact("data", g)}, HOST: {"data": InputArtifact("data", h)}}
    params = {"statistics": ["mean", "std", "missing_ratio", "95%"], "column_indexes": -1}
    results = run_module("DataStatistics", params, inputs, tmp_path / "out")
    assert results[GUEST].model is not None and results[HOST].model is not None
    guest = load_model(results[GUEST].model)["model_param"]["self_values"]
    assert guest["header"] == ["a", "b", "c"]
    by_name = {r["value_name"]: r["values"] for r in guest["results"]}
    assert list(by_name) == ["mean", "stddev", "missing_ratio", "95%"]
    assert by_name["mean"][1] == pytest.approx(np.nanmean(x[:, 1]))
    assert by_name["missing_ratio"] == [0.0, 1 / 50, 0.0]
    host = load_model(results[HOST].model)["model_param"]["self_values"]
    assert host["header"] == ["d", "e"]
    host_std = {r["value_name"]: r["values"] for r in host["results"]}["stddev"]
    assert host_std == pytest.approx(x[:, 3:].std(axis=0).tolist())
    out = load_table(results[GUEST].data["data"])
    assert out.header == ["a", "b", "c"] and np.array_equal(out.features, x[:, :3], equal_nan=True)


def test_columns_by_name_and_index_and_summary(tmp_path: Path) -> None:
    g, _, _ = _tables(tmp_path)
    solo = JobParties.of(guest=9999)
    params = {"column_indexes": [2], "column_names": ["a"]}
    inputs = {solo.guest: {"data": InputArtifact("data", g)}}
    result = run_module("DataStatistics", params, inputs, tmp_path / "o", solo)[solo.guest]
    assert result.model is not None
    values = load_model(result.model)["model_param"]["self_values"]
    assert values["header"] == ["a", "c"]
    assert len(values["results"]) == 13  # "summary": every FATE statistic


def test_refusals(tmp_path: Path) -> None:
    g, _, _ = _tables(tmp_path)
    solo = JobParties.of(guest=9999)
    inputs = {solo.guest: {"data": InputArtifact("data", g)}}
    for params, needle in [
        ({"statistics": ["mode"]}, "unknown statistic"),
        ({"column_indexes": [7]}, "out of range"),
        ({"column_indexes": [], "column_names": ["zz"]}, "not in the table"),
        ({"quantile_error": 0}, "quantile_error"),
    ]:
        with pytest.raises(PartyFailed) as info:
            run_module("DataStatistics", params, inputs, tmp_path / "r", solo)
        assert isinstance(info.value.error, ComponentError)
        assert needle in str(info.value.error)
