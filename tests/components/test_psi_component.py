"""PSI component: population stability of every column between expect_data and actual_data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fedloom.components import (
    REGISTRY,
    ComponentError,
    InputArtifact,
    TaskResult,
    load_model,
    run_task,
    save_table,
)
from fedloom.data import Table
from fedloom.dsl import parse_job
from fedloom.federation import Context, InMemoryTransport, JobParties, Messenger, Party
from fedloom.ml.evaluation import ADJUST_VALUE, population_stability

pytestmark = pytest.mark.unit


def context(role: str = "guest", party_id: int = 9999) -> Context:
    """A context for a task that talks to no peer."""
    parties = JobParties.of(guest=9999, hosts=[10000], arbiter=10001)
    local = Party(role, party_id)  # type: ignore[arg-type]
    messenger = Messenger(InMemoryTransport(), "job", local)
    return Context(local=local, parties=parties, messenger=messenger).sub("psi_0")


def table(path: Path, header: list[str], features: np.ndarray[Any, Any]) -> Path:
    """A feature table with ids r0, r1, ..."""
    ids = [f"r{i}" for i in range(features.shape[0])]
    return save_table(path, Table(ids, header, features, None))


def psi(
    tmp_path: Path, params: dict[str, Any], expect: Path, actual: Path, role: str = "guest"
) -> TaskResult:
    inputs = {
        "train_data": InputArtifact("data", expect),
        "validate_data": InputArtifact("data", actual),
    }
    party = 9999 if role == "guest" else 10000
    return run_task("PSI", role, party, context(role, party), params, inputs, tmp_path / role)


def test_psi_of_every_column_by_hand(tmp_path: Path) -> None:
    expect = table(tmp_path / "e.npz", ["x0", "x1"], np.c_[np.arange(1.0, 11.0), np.ones(10)])
    actual_x0 = [1, 1, 1, 2, 3, np.nan, 9, 10, 10, 10, 4, 4]
    actual = table(tmp_path / "a.npz", ["x1", "x0"], np.c_[np.ones(12), actual_x0])
    result = psi(tmp_path, {"max_bin_num": 4}, expect, actual)
    assert result.data == {} and result.model is not None
    model = load_model(result.model)
    assert model["module"] == "PSI" and model["role"] == "guest"
    assert model["model_meta"]["max_bin_num"] == 4
    param = model["model_param"]
    assert param["header"] == ["x0", "x1"]
    x0 = param["feature_psi"]["x0"]
    assert x0["interval"] == ["(-inf, 3]", "(3, 5]", "(5, 8]", "(8, +inf)", "missing"]
    assert x0["expect_count"] == [3, 2, 3, 2, 0]
    assert x0["actual_count"] == [5, 2, 0, 4, 1]
    expected = population_stability(np.arange(1.0, 11.0), np.asarray(actual_x0, float), 4)
    assert param["total_score"]["x0"] == pytest.approx(expected.total_psi)
    assert x0["psi"] == pytest.approx(expected.psi.tolist())
    # a constant column: one bin, identical shares, PSI 0
    assert param["total_score"]["x1"] == 0.0 and param["feature_psi"]["x1"]["interval"] == [
        "(-inf, +inf)"
    ]
    assert result.metrics["total_score"] == param["total_score"]
    json.dumps(result.metrics, allow_nan=False)


def test_dense_missing_val_marks_missing_cells(tmp_path: Path) -> None:
    expect = table(tmp_path / "e.npz", ["x"], np.array([[1.0], [2.0], [-999.0], [2.0]]))
    actual = table(tmp_path / "a.npz", ["x"], np.array([[1.0], [-999.0], [-999.0], [2.0]]))
    result = psi(tmp_path, {"dense_missing_val": -999}, expect, actual)
    x = load_model(result.model or Path())["model_param"]["feature_psi"]["x"]
    assert x["interval"][-1] == "missing"
    assert x["expect_count"] == [1, 2, 1] and x["actual_count"] == [1, 1, 2]
    plain = psi(tmp_path, {}, expect, actual).metrics["feature_psi"]["x"]
    assert "missing" not in plain["interval"]


def test_empty_bins_use_fates_adjust_value(tmp_path: Path) -> None:
    expect = table(tmp_path / "e.npz", ["x"], np.array([[0.0], [1.0]]))
    actual = table(tmp_path / "a.npz", ["x"], np.array([[0.0], [0.0]]))
    x = psi(tmp_path, {}, expect, actual).metrics["feature_psi"]["x"]
    assert x["actual_perc"] == [1.0, 0.0]
    assert x["psi"][1] == pytest.approx((ADJUST_VALUE - 0.5) * np.log(ADJUST_VALUE / 0.5))


def test_host_computes_its_own_and_arbiter_does_nothing(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    expect = table(tmp_path / "e.npz", ["h0"], rng.normal(size=(400, 1)))
    actual = table(tmp_path / "a.npz", ["h0"], rng.normal(1.0, 1.0, size=(300, 1)))
    host = psi(tmp_path, {}, expect, actual, role="host")
    assert host.metrics["total_score"]["h0"] > 0.25  # a shift of one standard deviation
    assert len(host.metrics["feature_psi"]["h0"]["interval"]) == 20
    arbiter = run_task("PSI", "arbiter", 10001, context("arbiter", 10001), {}, {}, tmp_path)
    assert arbiter == TaskResult()
    assert psi(tmp_path, {"need_run": False}, expect, actual) == TaskResult()


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"max_bin_num": 1}, "greater than or equal to 2"),
        ({"binning_error": 0.0}, "binning_error must lie in (0, 1)"),
        ({"dense_missing_val": "NA"}, "tables are numeric here"),
        ({"bin_num": 10}, "Extra inputs"),
    ],
)
def test_bad_parameters_are_refused(tmp_path: Path, params: dict[str, Any], fragment: str) -> None:
    expect = table(tmp_path / "e.npz", ["x"], np.ones((2, 1)))
    with pytest.raises(ComponentError, match="invalid PSI parameters") as info:
        psi(tmp_path, params, expect, expect)
    assert fragment in str(info.value)


def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    expect = table(tmp_path / "e.npz", ["x", "y"], np.ones((2, 2)))
    actual = table(tmp_path / "a.npz", ["x"], np.ones((2, 1)))
    with pytest.raises(ComponentError, match="actual_data lacks 1 column"):
        psi(tmp_path, {}, expect, actual)
    only = {"expect_data": InputArtifact("data", expect)}
    with pytest.raises(ComponentError, match=r"needs input 'validate_data' .*or actual_data"):
        run_task("PSI", "guest", 9999, context(), {}, only, tmp_path)


@pytest.mark.parametrize(
    ("expected", "actual"), [("train_data", "validate_data"), ("expect_data", "actual_data")]
)
def test_fate_psi_job_parses(expected: str, actual: str) -> None:
    reader = {"table": {"name": "t", "namespace": "n"}}
    dsl = {
        "components": {
            "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
            "reader_1": {"module": "Reader", "output": {"data": ["data"]}},
            "psi_0": {
                "module": "PSI",
                "input": {"data": {expected: ["reader_0.data"], actual: ["reader_1.data"]}},
                "output": {"data": ["data"], "model": ["model"]},
            },
        }
    }
    conf = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": 9999},
        "role": {"guest": [9999], "host": [10000]},
        "component_parameters": {
            "common": {"psi_0": {"max_bin_num": 20, "need_run": True}},
            "role": {
                role: {"0": {"reader_0": reader, "reader_1": reader}} for role in ("guest", "host")
            },
        },
    }
    plan = parse_job(dsl, conf)
    assert set(plan.component("psi_0").input_keys()) == {expected, actual}
    assert set(REGISTRY["PSI"].data_inputs) == {
        "train_data",
        "validate_data",
        "expect_data",
        "actual_data",
    }
