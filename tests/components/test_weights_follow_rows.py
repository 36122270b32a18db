"""Instance weights (SampleWeight's output) follow their rows through the modules that come
after SampleWeight in FATE's pipelines: Intersection and HeteroFeatureSelection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fedloom.components import InputArtifact, load_table, run_task, save_table
from fedloom.data import Table
from fedloom.federation import JobParties, Party, run_parties

pytestmark = pytest.mark.integration
GUEST, HOST = Party("guest", 9999), Party("host", 10000)


def _table(path: Path, ids: list[str], weights: bool) -> InputArtifact:
    features = np.arange(len(ids) * 2, dtype=float).reshape(len(ids), 2)
    labels = np.arange(len(ids), dtype=float) % 2 if weights else None
    w = np.arange(1.0, len(ids) + 1.0) if weights else None
    return InputArtifact("data", save_table(path, Table(ids, ["a", "b"], features, labels, w)))


def _run(module: str, tmp: Path, params: dict[str, Any], inputs: dict[str, Any]) -> Any:
    def task(role: str, party: int) -> Any:
        return lambda ctx: run_task(
            module, role, party, ctx.sub("c"), params, inputs[role], tmp / role
        )

    parties = JobParties.of(guest=9999, hosts=[10000])
    harness = run_parties(parties, {GUEST: task("guest", 9999), HOST: task("host", 10000)})
    return harness.results


def test_intersection_and_selection_keep_each_rows_weight(tmp_path: Path) -> None:
    guest_ids = [f"u{i:02d}" for i in range(10)]
    inputs = {
        "guest": {"data": _table(tmp_path / "g.npz", guest_ids, True)},
        "host": {"data": _table(tmp_path / "h.npz", [*guest_ids[4:], "x1"], False)},
    }
    params = {"intersect_method": "ecdh"}
    aligned = _run("Intersection", tmp_path / "i", params, inputs)
    table = load_table(aligned[GUEST].data["data"])
    assert table.ids == guest_ids[4:]
    assert table.weights is not None and table.weights.tolist() == [5.0, 6.0, 7.0, 8.0, 9.0, 10.0]

    selected_inputs = {
        "guest": {"data": InputArtifact("data", aligned[GUEST].data["data"])},
        "host": {"data": InputArtifact("data", aligned[HOST].data["data"])},
    }
    manual = {"filter_methods": ["manually"], "manually_param": {"filter_out_names": ["a"]}}
    chosen = _run("HeteroFeatureSelection", tmp_path / "s", manual, selected_inputs)
    kept = load_table(chosen[GUEST].data["data"])
    assert kept.header == ["b"] and kept.weights is not None
    assert kept.weights.tolist() == table.weights.tolist()
