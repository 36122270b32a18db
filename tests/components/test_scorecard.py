"""Scorecard: credit scores from a binary model's event probabilities, by hand."""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fedloom.components import (
    ComponentError,
    InputArtifact,
    TaskResult,
    load_table_with_meta,
    run_task,
    save_table,
)
from fedloom.data import Table
from fedloom.dsl import parse_job
from fedloom.federation import Context, InMemoryTransport, JobParties, Messenger, Party

pytestmark = pytest.mark.unit


def context(role: str = "guest", party_id: int = 9999) -> Context:
    """A context for a task that talks to no peer."""
    parties = JobParties.of(guest=9999, hosts=[10000], arbiter=10001)
    local = Party(role, party_id)  # type: ignore[arg-type]
    messenger = Messenger(InMemoryTransport(), "job", local)
    return Context(local=local, parties=parties, messenger=messenger).sub("scorecard_0")


def predictions(path: Path, scores: list[float], meta: dict[str, Any] | None = None) -> Path:
    """A binary prediction table with labels."""
    p = np.asarray(scores)
    table = Table(
        [f"i{i}" for i in range(p.size)],
        ["predict_result", "predict_score"],
        np.c_[p >= 0.5, p],
        (np.arange(p.size) % 2).astype(float),
    )
    return save_table(path, table, {"producer": "lr_0", "type": "test", **(meta or {})})


def scorecard(tmp_path: Path, params: dict[str, Any], path: Path) -> TaskResult:
    inputs = {"data": InputArtifact("data", path)}
    return run_task("Scorecard", "guest", 9999, context(), params, inputs, tmp_path / "out")


def test_credit_score_formula_and_fate_columns(tmp_path: Path) -> None:
    scores = [0.5, 0.2, 0.8, 1 / 3, 0.01]
    result = scorecard(tmp_path, {}, predictions(tmp_path / "p.npz", scores))
    table, meta = load_table_with_meta(result.data["data"])
    assert table.header == ["predict_score", "credit_score"]
    assert meta["columns"] == ["id", "label", "predict_score", "credit_score"]
    assert meta["type"] == "test" and table.ids == [f"i{i}" for i in range(5)]
    assert table.labels is not None and table.labels.tolist() == [0, 1, 0, 1, 0]
    credit = table.features[:, 1]
    # 500 at even odds; each doubling of the odds of non-event adds 20 points
    assert credit[0] == pytest.approx(500.0)
    assert credit[1] == pytest.approx(500.0 + 20 * 2)  # odds 4 = 2²
    assert credit[2] == pytest.approx(500.0 - 20 * 2)  # odds 1/4
    assert credit[3] == pytest.approx(520.0)  # odds 2
    assert credit[4] == pytest.approx(500 + 20 / math.log(2) * math.log(99))
    assert table.features[:, 0].tolist() == pytest.approx(scores)
    assert result.metrics["count"] == 5


def test_limits_and_parameters(tmp_path: Path) -> None:
    path = predictions(tmp_path / "p.npz", [0.0, 1.0, 1e-9, 0.999999, 0.5])
    params = {
        "offset": 600,
        "factor": 50,
        "factor_base": 10,
        "upper_limit_ratio": 1.5,
        "lower_limit_value": 100,
    }
    result = scorecard(tmp_path, params, path)
    credit = load_table_with_meta(result.data["data"])[0].features[:, 1]
    assert credit[0] == 900.0 and credit[1] == 100.0  # p = 0: upper limit; p = 1: lower
    assert credit[2] == 900.0  # 600 + 50·log10(1e9) = 1050, clipped to 1.5 · 600
    assert credit[3] == pytest.approx(max(100.0, 600 + 50 * math.log10(1e-6 / 0.999999)))
    assert credit[4] == pytest.approx(600.0)


def test_need_run_false_passes_the_input_through(tmp_path: Path) -> None:
    path = predictions(tmp_path / "p.npz", [0.3, 0.6])
    result = scorecard(tmp_path, {"need_run": False}, path)
    table, meta = load_table_with_meta(result.data["data"])
    assert table.header == ["predict_result", "predict_score"] and meta["producer"] == "lr_0"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"method": "woe"}, "expected one of 'credit'"),
        ({"factor_base": 1}, "factor_base must be positive and not 1"),
        ({"upper_limit_ratio": 0}, "greater than 0"),
        ({"lower_limit_value": 2000}, "above the upper limit"),
        ({"offset": "500"}, "valid"),
    ],
)
def test_bad_parameters_are_refused(tmp_path: Path, params: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ComponentError, match="invalid Scorecard parameters") as info:
        scorecard(tmp_path, params, predictions(tmp_path / "p.npz", [0.5]))
    assert fragment in str(info.value)


def test_inputs_that_are_not_binary_probabilities_are_refused(tmp_path: Path) -> None:
    multi = predictions(tmp_path / "m.npz", [0.5], {"classes": ["0", "1", "2"]})
    with pytest.raises(ComponentError, match="multi-class"):
        scorecard(tmp_path, {}, multi)
    with pytest.raises(ComponentError, match=r"probability in \[0, 1\]; row 1"):
        scorecard(tmp_path, {}, predictions(tmp_path / "r.npz", [0.5, 3.2]))
    features = save_table(tmp_path / "f.npz", Table(["a"], ["x"], np.ones((1, 1))))
    with pytest.raises(ComponentError, match="column predict_score"):
        scorecard(tmp_path, {}, features)
    host = run_task("Scorecard", "host", 10000, context("host", 10000), {}, {}, tmp_path)
    assert host == TaskResult()


def test_fate_scorecard_job_parses() -> None:
    dsl = {
        "components": {
            "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
            "scorecard_0": {
                "module": "Scorecard",
                "input": {"data": {"data": ["reader_0.data"]}},
                "output": {"data": ["data"]},
            },
        }
    }
    conf = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": 9999},
        "role": {"guest": [9999], "host": [10000]},
        "component_parameters": {
            "common": {
                "scorecard_0": {
                    "method": "credit",
                    "offset": 500,
                    "factor": 20,
                    "factor_base": 2,
                    "upper_limit_ratio": 3,
                    "lower_limit_value": 0,
                    "need_run": True,
                }
            },
            "role": {
                "guest": {"0": {"reader_0": {"table": {"name": "t", "namespace": "n"}}}},
                "host": {"0": {"reader_0": {"table": {"name": "t", "namespace": "n"}}}},
            },
        },
    }
    plan = parse_job(dsl, conf)
    assert plan.component("scorecard_0").module == "Scorecard"


@pytest.mark.integration
def test_scores_a_heterolr_output(tmp_path: Path) -> None:
    glm: Any = importlib.import_module("test_glm_lr")  # the GLM tests' three-party harness
    trained = glm.train(glm.make_split(tmp_path), tmp_path / "lr", glm.BASE)
    guest = trained[glm.GUEST]
    result = scorecard(tmp_path, {}, guest.data["data"])
    before, _ = load_table_with_meta(guest.data["data"])
    after, meta = load_table_with_meta(result.data["data"])
    p = before.features[:, before.header.index("predict_score")]
    assert after.ids == before.ids and meta["type"] == "train"
    assert after.labels is not None and before.labels is not None
    np.testing.assert_array_equal(after.labels, before.labels)
    expected = np.clip(500 + 20 / math.log(2) * np.log((1 - p) / p), 0, 1500)
    np.testing.assert_allclose(after.features[:, 1], expected, rtol=1e-12)
