"""Model evaluation metrics for binary and multi-class classification and regression, and the
population stability index; numpy only."""

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
from fedloom.ml.evaluation.curves import QuantileCurve, quantile_curve, quantile_thresholds
from fedloom.ml.evaluation.multiclass import multiclass_metrics, multiclass_report
from fedloom.ml.evaluation.regression import (
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
from fedloom.ml.evaluation.stability import (
    ADJUST_VALUE,
    StabilityReport,
    population_stability,
    quantile_split_points,
)

__all__ = [
    "ADJUST_VALUE",
    "REGRESSION_METRIC_FUNCTIONS",
    "BinaryReport",
    "ConfusionMetrics",
    "KsCurve",
    "LiftGainRow",
    "QuantileCurve",
    "RegressionReport",
    "RocCurve",
    "StabilityReport",
    "auc",
    "confusion_at",
    "evaluate_binary",
    "evaluate_regression",
    "explained_variance",
    "ks",
    "ks_curve",
    "lift_gain_table",
    "mae",
    "mean_squared_log_error",
    "median_absolute_error",
    "mse",
    "multiclass_metrics",
    "multiclass_report",
    "population_stability",
    "quantile_curve",
    "quantile_split_points",
    "quantile_thresholds",
    "r2",
    "regression_values",
    "rmse",
    "roc_curve",
]
