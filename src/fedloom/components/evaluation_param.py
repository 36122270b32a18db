"""FATE 1.x's ``EvaluateParam`` and its metric names, aliases and defaults."""

from __future__ import annotations

from typing import ClassVar

from pydantic import (
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fedloom.components.base import FateParam, lower, supported

BINARY_METRICS = (
    "auc",
    "ks",
    "lift",
    "gain",
    "accuracy",
    "precision",
    "recall",
    "roc",
    "confusion_mat",
    "f1_score",
    "psi",
    "quantile_pr",
)
"""FATE's binary metrics, in the order results are reported."""
MULTI_METRICS = ("accuracy", "precision", "recall")
"""FATE's multi-class metrics."""
REGRESSION_METRICS = (
    "explained_variance",
    "mean_absolute_error",
    "mean_squared_error",
    "mean_squared_log_error",
    "median_absolute_error",
    "r2_score",
    "root_mean_squared_error",
)
"""FATE's regression metrics."""
ALLOWED_METRICS = {
    "binary": BINARY_METRICS,
    "multi": MULTI_METRICS,
    "regression": REGRESSION_METRICS,
}
"""Metrics each ``eval_type`` accepts."""
DEFAULT_METRICS = {
    "binary": tuple(m for m in BINARY_METRICS if m != "quantile_pr"),
    "multi": MULTI_METRICS,
    "regression": tuple(m for m in REGRESSION_METRICS if m != "mean_squared_log_error"),
}
"""Metrics computed when ``metrics`` is unset or empty. ``quantile_pr`` is left out (the
precision-recall curve is asked for by name), and so is ``mean_squared_log_error``, which is
undefined for negative targets; ``psi`` is computed only where a model has both train and
validate predictions."""
_ALIASES = {
    "acc": "accuracy",
    "f1": "f1_score",
    "l1": "mean_absolute_error",
    "mae": "mean_absolute_error",
    "l2": "mean_squared_error",
    "mse": "mean_squared_error",
    "msle": "mean_squared_log_error",
    "medae": "median_absolute_error",
    "r2": "r2_score",
    "rmse": "root_mean_squared_error",
    "ev": "explained_variance",
}


def normalise_metrics(names: list[str] | None, eval_type: str) -> list[str]:
    """FATE metric names (aliases resolved, each once) or, for none, the type's defaults; a
    ValueError naming a metric the type does not have."""
    allowed = ALLOWED_METRICS[eval_type]
    if not names:
        return list(DEFAULT_METRICS[eval_type])
    out: list[str] = []
    for raw in names:
        name = _ALIASES.get(raw.lower(), raw.lower())
        if name not in allowed:
            raise ValueError(f"metric {raw!r} is not a {eval_type} metric ({', '.join(allowed)})")
        if name not in out:
            out.append(name)
    return out


class EvaluateParam(FateParam):
    """FATE's Evaluation parameters.

    ``eval_type`` is ``binary``, ``multi`` or ``regression`` (``clustering`` is refused);
    ``pos_label`` (binary only) is 0 or 1, the labels fedloom's classifiers use;
    ``unfold_multi_result`` (multi only) adds a one-vs-rest binary evaluation per class.
    """

    only_default: ClassVar[dict[str, str]] = {
        "run_clustering_arbiter_metric": "clustering evaluation is not implemented"
    }

    eval_type: StrictStr = "binary"
    pos_label: StrictInt | StrictFloat | StrictStr = 1
    need_run: StrictBool = True
    metrics: list[StrictStr] | None = None
    unfold_multi_result: StrictBool = False
    run_clustering_arbiter_metric: StrictBool = False

    _lower = field_validator("eval_type", mode="before")(lower)

    @field_validator("eval_type")
    @classmethod
    def _type(cls, value: str) -> str:
        return supported(
            value,
            ("binary", "multi", "regression"),
            {
                "clustering": "clustering evaluation is not implemented: fedloom has no "
                "clustering module whose output it could evaluate"
            },
        )

    @field_validator("pos_label")
    @classmethod
    def _pos_label(cls, value: float | int | str) -> float | int | str:
        if str(value) not in ("0", "1", "0.0", "1.0"):
            raise ValueError(f"labels are 0 or 1, so pos_label must be 0 or 1, got {value!r}")
        return value

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        eval_type = info.data.get("eval_type")
        if not value or eval_type is None:
            return value
        return normalise_metrics(value, eval_type)

    @model_validator(mode="after")
    def _applies(self) -> EvaluateParam:
        if self.eval_type != "binary" and str(self.pos_label) not in ("1", "1.0"):
            raise ValueError(f"pos_label applies to eval_type 'binary', not {self.eval_type!r}")
        if self.unfold_multi_result and self.eval_type != "multi":
            raise ValueError("unfold_multi_result applies to eval_type 'multi' only")
        return self

    @property
    def metric_names(self) -> list[str]:
        """The metrics to compute: those named, or the type's defaults."""
        return normalise_metrics(self.metrics, self.eval_type)

    @property
    def metrics_named(self) -> bool:
        """Whether the job named its metrics (rather than taking the defaults)."""
        return bool(self.metrics)
