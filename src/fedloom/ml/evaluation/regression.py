"""Regression metrics: RMSE, MAE, R² and the rest of FATE's regression metrics.

Every function takes targets ``y`` and predictions ``pred`` as equal-length lists or
one-dimensional arrays of finite numbers, and raises ``ValueError`` naming the problem otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from fedloom.ml.evaluation._validation import (
    FloatArray,
    as_1d_float_array,
    check_finite,
    check_same_length,
)

__all__ = [
    "REGRESSION_METRIC_FUNCTIONS",
    "RegressionReport",
    "evaluate_regression",
    "explained_variance",
    "mae",
    "mean_squared_log_error",
    "median_absolute_error",
    "mse",
    "r2",
    "regression_values",
    "rmse",
]


@dataclass(frozen=True)
class RegressionReport:
    """Everything :func:`evaluate_regression` computes for one set of targets and predictions."""

    n: int
    rmse: float
    mae: float
    r2: float

    def to_dict(self) -> dict[str, int | float]:
        """Return the report as a dict of builtin ints and floats."""
        return {"n": self.n, "rmse": self.rmse, "mae": self.mae, "r2": self.r2}


def rmse(y: ArrayLike, pred: ArrayLike) -> float:
    """Return the root mean squared error between targets and predictions."""
    targets, predictions = _validate(y, pred)
    return _rmse(targets, predictions)


def mae(y: ArrayLike, pred: ArrayLike) -> float:
    """Return the mean absolute error between targets and predictions."""
    targets, predictions = _validate(y, pred)
    return _mae(targets, predictions)


def r2(y: ArrayLike, pred: ArrayLike) -> float:
    """Return the coefficient of determination, ``1 - SS_res / SS_tot``.

    When every target is equal ``SS_tot`` is 0 and R² is undefined; like scikit-learn's
    ``r2_score`` (``force_finite=True``) this returns 1.0 if the predictions are exact and 0.0
    otherwise.
    """
    targets, predictions = _validate(y, pred)
    return _r2(targets, predictions)


def mse(y: ArrayLike, pred: ArrayLike) -> float:
    """Return the mean squared error between targets and predictions."""
    targets, predictions = _validate(y, pred)
    return float(np.mean((targets - predictions) ** 2))


def median_absolute_error(y: ArrayLike, pred: ArrayLike) -> float:
    """Return the median of the absolute errors."""
    targets, predictions = _validate(y, pred)
    return float(np.median(np.abs(targets - predictions)))


def explained_variance(y: ArrayLike, pred: ArrayLike) -> float:
    """Return ``1 - Var(y - pred) / Var(y)``.

    For constant targets the ratio is undefined; like scikit-learn's
    ``explained_variance_score`` (``force_finite=True``) this returns 1.0 when the errors are
    constant too and 0.0 otherwise.
    """
    targets, predictions = _validate(y, pred)
    return _explained_variance(targets, predictions)


def mean_squared_log_error(y: ArrayLike, pred: ArrayLike) -> float:
    """Return ``mean((ln(1 + y) - ln(1 + pred))²)``; targets and predictions must be ≥ 0."""
    targets, predictions = _validate(y, pred)
    return _msle(targets, predictions)


def regression_values(y: ArrayLike, pred: ArrayLike, names: list[str]) -> dict[str, float]:
    """The named metrics (keys of :data:`REGRESSION_METRIC_FUNCTIONS`) of one prediction."""
    targets, predictions = _validate(y, pred)
    unknown = [n for n in names if n not in REGRESSION_METRIC_FUNCTIONS]
    if unknown:
        raise ValueError(f"unknown regression metric {unknown[0]!r}")
    return {n: REGRESSION_METRIC_FUNCTIONS[n](targets, predictions) for n in names}


def evaluate_regression(y: ArrayLike, pred: ArrayLike) -> RegressionReport:
    """Compute RMSE, MAE and R² at once and bundle them in a report."""
    targets, predictions = _validate(y, pred)
    return RegressionReport(
        n=int(targets.size),
        rmse=_rmse(targets, predictions),
        mae=_mae(targets, predictions),
        r2=_r2(targets, predictions),
    )


def _rmse(targets: FloatArray, predictions: FloatArray) -> float:
    return math.sqrt(float(np.mean((targets - predictions) ** 2)))


def _mae(targets: FloatArray, predictions: FloatArray) -> float:
    return float(np.mean(np.abs(targets - predictions)))


def _r2(targets: FloatArray, predictions: FloatArray) -> float:
    residual_sum = float(np.sum((targets - predictions) ** 2))
    # Checked on the values, not on SS_tot, which rounding can leave just above 0.
    if np.all(targets == targets[0]):
        return 1.0 if residual_sum == 0.0 else 0.0
    total_sum = float(np.sum((targets - np.mean(targets)) ** 2))
    return 1.0 - residual_sum / total_sum


def _explained_variance(targets: FloatArray, predictions: FloatArray) -> float:
    errors = targets - predictions
    if np.all(targets == targets[0]):
        return 1.0 if np.all(errors == errors[0]) else 0.0
    return 1.0 - float(np.var(errors)) / float(np.var(targets))


def _msle(targets: FloatArray, predictions: FloatArray) -> float:
    for values, name in ((targets, "y"), (predictions, "pred")):
        negative = np.flatnonzero(values < 0)
        if negative.size:
            index = int(negative[0])
            raise ValueError(
                f"mean_squared_log_error needs values >= 0; {name} has "
                f"{float(values[index])!r} at index {index}"
            )
    return float(np.mean((np.log1p(targets) - np.log1p(predictions)) ** 2))


REGRESSION_METRIC_FUNCTIONS: dict[str, Callable[[FloatArray, FloatArray], float]] = {
    "explained_variance": _explained_variance,
    "mean_absolute_error": _mae,
    "mean_squared_error": lambda t, p: float(np.mean((t - p) ** 2)),
    "mean_squared_log_error": _msle,
    "median_absolute_error": lambda t, p: float(np.median(np.abs(t - p))),
    "r2_score": _r2,
    "root_mean_squared_error": _rmse,
}
"""FATE's regression metric names → function of (targets, predictions), inputs checked."""


def _validate(y: ArrayLike, pred: ArrayLike) -> tuple[FloatArray, FloatArray]:
    targets = as_1d_float_array(y, "y")
    predictions = as_1d_float_array(pred, "pred")
    check_same_length(targets, predictions, "y", "pred")
    check_finite(targets, "y")
    check_finite(predictions, "pred")
    return targets, predictions
