"""Model evaluation metrics for binary and multi-class classification and regression, numpy
only."""

from fedloom.ml.evaluation.binary import (
    BinaryReport,
    ConfusionMetrics,
    KsCurve,
    LiftGainRow,
    RocCurve,
    auc,
    confusion_at,
    evaluate_binary,
    ks,
    ks_curve,
    lift_gain_table,
    roc_curve,
)
from fedloom.ml.evaluation.multiclass import multiclass_metrics
from fedloom.ml.evaluation.regression import (
    RegressionReport,
    evaluate_regression,
    mae,
    r2,
    rmse,
)

__all__ = [
    "BinaryReport",
    "ConfusionMetrics",
    "KsCurve",
    "LiftGainRow",
    "RegressionReport",
    "RocCurve",
    "auc",
    "confusion_at",
    "evaluate_binary",
    "evaluate_regression",
    "ks",
    "ks_curve",
    "lift_gain_table",
    "mae",
    "multiclass_metrics",
    "r2",
    "rmse",
    "roc_curve",
]
