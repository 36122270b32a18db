"""HeteroPearson as a component: FATE's PearsonModelParam fields, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_statistics import GUEST, HOST, PARTIES, run_module

from fedloom.components import (
    ComponentError,
    InputArtifact,
    TaskHooks,
    TaskResult,
    load_model,
    save_table,
)
from fedloom.crypto import generate_plain_keypair
from fedloom.data import Table
from fedloom.federation import JobParties, Party, PartyFailed

pytestmark = pytest.mark.integration


def tables(
    tmp_path: Path, rows: int = 60
) -> tuple[dict[Party, dict[str, InputArtifact]], np.ndarray]:
    """Guest (a, b, c + labels) and host (d, e, f) tables of correlated columns."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(rows, 6)) @ rng.normal(size=(6, 6))
    ids = [str(i) for i in range(rows)]
    y = (x[:, 0] > 0).astype(float)
    g = save_table(tmp_path / "g.npz", Table(ids, ["a", "b", "c"], x[:, :3], y))
    h = save_table(tmp_path / "h.npz", Table(ids, ["d", "e", "f"], x[:, 3:]))
    inputs = {GUEST: {"data": InputArtifact("data", g)}, HOST: {"data": InputArtifact("data", h)}}
    return inputs, x


def test_model_fields_and_values(tmp_path: Path) -> None:
    inputs, x = tables(tmp_path)
    params = {"column_indexes": -1, "column_names": []}
    results = run_pearson(params, inputs, tmp_path)
    full = np.corrcoef(x, rowvar=False)
    guest = load_model(results[GUEST].model)["model_param"]
    assert guest["party"] == "(guest,9999)"
    assert guest["parties"] == ["(guest,9999)", "(host,10000)"]
    assert guest["shapes"] == [3, 3]
    assert guest["names"] == [
        {"names": ["a", "b", "c"]},
        {"names": ["host_10000_0", "host_10000_1", "host_10000_2"]},
    ]
    assert np.abs(np.array(guest["corr"]).reshape(3, 3) - full[:3, 3:]).max() < 1e-6
    assert np.abs(np.array(guest["local_corr"]).reshape(3, 3) - full[:3, :3]).max() < 1e-9
    assert np.allclose(guest["local_vif"], np.diag(np.linalg.inv(full[:3, :3])))
    host = load_model(results[HOST].model)["model_param"]
    assert host["names"][1] == {"names": ["guest_9999_0", "guest_9999_1", "guest_9999_2"]}
    assert np.abs(np.array(host["corr"]).reshape(3, 3) - full[3:, :3]).max() < 1e-6


def run_pearson(
    params: dict[str, Any],
    inputs: dict[Party, dict[str, InputArtifact]],
    out: Path,
    parties: JobParties = PARTIES,
    party_params: dict[Party, dict[str, Any]] | None = None,
) -> dict[Party, TaskResult]:
    """Run HeteroPearson with the plaintext stand-in key (tests only)."""
    hooks = TaskHooks(keygen=generate_plain_keypair)
    return run_module("HeteroPearson", params, inputs, out / "run", parties, hooks, party_params)


def test_column_choice_and_local_only(tmp_path: Path) -> None:
    inputs, x = tables(tmp_path)
    local = {"cross_parties": False}
    own = {GUEST: {**local, "column_names": ["c", "a"]}, HOST: local}
    results = run_pearson(local, inputs, tmp_path, party_params=own)
    guest = load_model(results[GUEST].model)["model_param"]
    assert guest["names"] == [{"names": ["a", "c"]}] and guest["corr"] == []
    assert guest["local_corr"][1] == pytest.approx(np.corrcoef(x[:, 0], x[:, 2])[0, 1])


def test_refusals(tmp_path: Path) -> None:
    inputs, _ = tables(tmp_path)
    with pytest.raises(PartyFailed) as info:
        run_pearson({"use_mix_rand": True}, inputs, tmp_path)
    assert "use_mix_rand" in str(info.value.error)
    solo = JobParties.of(guest=9999)
    with pytest.raises(PartyFailed) as info:
        run_pearson({}, {solo.guest: inputs[GUEST]}, tmp_path, solo)
    assert isinstance(info.value.error, ComponentError)
    assert "exactly one host" in str(info.value.error)


def test_predict_passes_data_through(tmp_path: Path) -> None:
    inputs, _ = tables(tmp_path)
    fit = run_pearson({}, inputs, tmp_path / "fit")
    for party in (GUEST, HOST):
        assert fit[party].model is not None
        inputs[party]["model"] = InputArtifact("model", fit[party].model)
    again = run_pearson({}, inputs, tmp_path / "predict")
    assert again[GUEST].model is None and again[HOST].model is None
    assert again[GUEST].data["data"].exists()
