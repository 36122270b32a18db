"""Regression metrics: RMSE, MAE and the coefficient of determination (R²).

Every function takes targets ``y`` and predictions ``pred`` as equal-length lists or
one-dimensional arrays of finite numbers, and raises ``ValueError`` naming the problem otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from fedloom.ml.evaluation._validation import (
    FloatArray,
    as_1d_float_array,
    check_finite,
    check_same_length,
)

__all__ = ["RegressionReport", "evaluate_regression", "mae", "r2", "rmse"]


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


def _validate(y: ArrayLike, pred: ArrayLike) -> tuple[FloatArray, FloatArray]:
    targets = as_1d_float_array(y, "y")
    predictions = as_1d_float_array(pred, "pred")
    check_same_length(targets, predictions, "y", "pred")
    check_finite(targets, "y")
    check_finite(predictions, "pred")
    return targets, predictions
