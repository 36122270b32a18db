"""Tests for fedloom.ml.evaluation.regression, checked against scikit-learn and by hand."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from fedloom.ml.evaluation import (
    REGRESSION_METRIC_FUNCTIONS,
    RegressionReport,
    evaluate_regression,
    explained_variance,
    mae,
    mean_squared_log_error,
    median_absolute_error,
    mse,
    r2,
    regression_values,
    rmse,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(10.0, 3.0, size=400)
    pred = y + rng.normal(0.5, 2.0, size=400)
    assert rmse(y, pred) == pytest.approx(math.sqrt(skm.mean_squared_error(y, pred)), rel=1e-12)
    assert mae(y, pred) == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-12)
    assert r2(y, pred) == pytest.approx(skm.r2_score(y, pred), rel=1e-12)


def test_hand_computed_example() -> None:
    y = [1, 2, 3]
    pred = [1, 2, 5]
    assert rmse(y, pred) == pytest.approx(math.sqrt(4 / 3))
    assert mae(y, pred) == pytest.approx(2 / 3)
    # SS_res = 4, SS_tot = 2.
    assert r2(y, pred) == pytest.approx(-1.0)


def test_perfect_predictions() -> None:
    y = [0.5, -2.0, 7.25]
    assert rmse(y, y) == 0.0
    assert mae(y, y) == 0.0
    assert r2(y, y) == 1.0


def test_predicting_the_mean_scores_zero_r2() -> None:
    y = np.array([1.0, 4.0, 7.0])
    assert r2(y, np.full(3, 4.0)) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    ("pred", "expected"), [([3.0, 3.0, 3.0], 1.0), ([3.0, 2.0, 3.0], 0.0), ([9, 9, 9], 0.0)]
)
def test_r2_of_constant_targets_follows_sklearn(pred: list[float], expected: float) -> None:
    y = [3.0, 3.0, 3.0]
    assert r2(y, pred) == expected
    assert skm.r2_score(y, pred) == expected


def test_r2_of_constant_targets_is_robust_to_mean_rounding() -> None:
    y = [0.1] * 7
    assert r2(y, y) == 1.0
    assert r2(y, [0.1] * 6 + [0.2]) == 0.0


def test_evaluate_regression_bundles_metrics_and_serialises() -> None:
    y = [1, 2, 3, 4]
    pred = [1.5, 2.0, 2.0, 5.0]
    report = evaluate_regression(y, pred)
    assert isinstance(report, RegressionReport)
    assert report == RegressionReport(n=4, rmse=rmse(y, pred), mae=mae(y, pred), r2=r2(y, pred))
    data = report.to_dict()
    assert {key: type(value) for key, value in data.items()} == {
        "n": int,
        "rmse": float,
        "mae": float,
        "r2": float,
    }
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["mae"] == pytest.approx(0.625)


def test_accepts_lists_and_integer_arrays() -> None:
    assert mae(np.array([1, 2, 3]), [2, 2, 2]) == pytest.approx(2 / 3)


ALL_METRICS = [rmse, mae, r2, evaluate_regression]


@pytest.mark.parametrize("func", ALL_METRICS)
def test_rejects_different_lengths(func: Any) -> None:
    with pytest.raises(ValueError, match=r"y and pred must have the same length; got 2 and 3"):
        func([1.0, 2.0], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("func", ALL_METRICS)
def test_rejects_empty_input(func: Any) -> None:
    with pytest.raises(ValueError, match="y is empty"):
        func([], [])
    with pytest.raises(ValueError, match="pred is empty"):
        func([1.0], [])


@pytest.mark.parametrize("func", ALL_METRICS)
@pytest.mark.parametrize(
    ("y", "pred", "pattern"),
    [
        ([1.0, math.nan, 3.0], [1.0, 2.0, 3.0], r"y must be finite; found nan at index 1"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, math.inf], r"pred must be finite; found inf at index 2"),
        (
            [1.0, 2.0, 3.0],
            [-math.inf, 2.0, math.nan],
            r"pred must be finite; found -inf at index 0",
        ),
    ],
)
def test_rejects_non_finite_values(
    func: Any, y: list[float], pred: list[float], pattern: str
) -> None:
    with pytest.raises(ValueError, match=pattern):
        func(y, pred)


@pytest.mark.parametrize("func", ALL_METRICS)
def test_rejects_two_dimensional_input(func: Any) -> None:
    with pytest.raises(ValueError, match=r"y must be one-dimensional; got shape \(2, 2\)"):
        func([[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0])


@pytest.mark.parametrize("func", ALL_METRICS)
def test_rejects_non_numeric_input(func: Any) -> None:
    with pytest.raises(ValueError, match="pred must be numeric"):
        func([1.0, 2.0], ["a", "b"])


@pytest.mark.parametrize("seed", [0, 1])
def test_fate_regression_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.gamma(2.0, 3.0, size=300)
    pred = np.abs(y + rng.normal(0.2, 1.5, size=300))
    values = regression_values(y, pred, list(REGRESSION_METRIC_FUNCTIONS))
    assert values == pytest.approx(
        {
            "explained_variance": skm.explained_variance_score(y, pred),
            "mean_absolute_error": skm.mean_absolute_error(y, pred),
            "mean_squared_error": skm.mean_squared_error(y, pred),
            "mean_squared_log_error": skm.mean_squared_log_error(y, pred),
            "median_absolute_error": skm.median_absolute_error(y, pred),
            "r2_score": skm.r2_score(y, pred),
            "root_mean_squared_error": math.sqrt(skm.mean_squared_error(y, pred)),
        },
        rel=1e-12,
    )
    assert mse(y, pred) == values["mean_squared_error"]
    assert median_absolute_error(y, pred) == values["median_absolute_error"]
    assert explained_variance(y, pred) == values["explained_variance"]
    assert mean_squared_log_error(y, pred) == values["mean_squared_log_error"]


@pytest.mark.parametrize(("pred", "expected"), [([4.0, 4.0], 1.0), ([3.0, 4.0], 0.0)])
def test_explained_variance_of_constant_targets_follows_sklearn(
    pred: list[float], expected: float
) -> None:
    assert explained_variance([3.0, 3.0], pred) == expected
    assert skm.explained_variance_score([3.0, 3.0], pred) == expected


def test_msle_refuses_negative_values_and_unknown_names() -> None:
    with pytest.raises(ValueError, match=r"values >= 0; pred has -1.0 at index 1"):
        mean_squared_log_error([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="unknown regression metric 'mape'"):
        regression_values([1.0], [1.0], ["mape"])
