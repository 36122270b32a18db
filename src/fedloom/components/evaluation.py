"""Evaluation: metrics of the predictions an upstream model component wrote, at the guest.

Parameters keep FATE's ``EvaluateParam`` names; metric names and aliases are FATE's. Hosts and
the arbiter hold no labels and no predictions: their Evaluation task does nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import StrictBool, StrictFloat, StrictInt, StrictStr, ValidationInfo, field_validator

from fedloom.components.base import (
    ALL_ROLES,
    ComponentDef,
    ComponentError,
    FateParam,
    TaskCall,
    TaskResult,
    lower,
    same_runner,
    supported,
)
from fedloom.components.io import json_safe, load_table_with_meta
from fedloom.ml.evaluation import evaluate_binary, evaluate_regression

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
)
REGRESSION_METRICS = (
    "explained_variance",
    "mean_absolute_error",
    "mean_squared_error",
    "median_absolute_error",
    "r2_score",
    "root_mean_squared_error",
)
_ALIASES = {
    "acc": "accuracy",
    "f1": "f1_score",
    "l1": "mean_absolute_error",
    "mae": "mean_absolute_error",
    "l2": "mean_squared_error",
    "mse": "mean_squared_error",
    "medae": "median_absolute_error",
    "r2": "r2_score",
    "rmse": "root_mean_squared_error",
    "ev": "explained_variance",
}
_UNSUPPORTED = {
    "psi": "population stability needs a second (validation) data set",
    "quantile_pr": "precision/recall by score quantile is not implemented",
    "mean_squared_log_error": "not implemented",
    "msle": "not implemented",
}
PREDICTION_COLUMNS = ("predict_result", "predict_score")


def normalise_metrics(names: list[str] | None, eval_type: str) -> list[str]:
    """FATE metric names (aliases resolved, each once), or a ValueError naming a bad one."""
    allowed = BINARY_METRICS if eval_type == "binary" else REGRESSION_METRICS
    if not names:
        return list(allowed)
    out: list[str] = []
    for raw in names:
        name = _ALIASES.get(raw.lower(), raw.lower())
        if name in _UNSUPPORTED:
            raise ValueError(f"metric {raw!r} is not supported: {_UNSUPPORTED[name]}")
        if name not in allowed:
            raise ValueError(f"metric {raw!r} is not a {eval_type} metric ({', '.join(allowed)})")
        if name not in out:
            out.append(name)
    return out


def binary_metrics(
    labels: NDArray[np.float64], scores: NDArray[np.float64], names: list[str], threshold: float
) -> dict[str, Any]:
    """The requested binary metrics, JSON-safe (curves as lists, ``+inf`` thresholds None)."""
    report = evaluate_binary(labels, scores, threshold=threshold, n_bins=min(10, labels.size))
    confusion = report.confusion
    rows = report.lift_table
    out: dict[str, Any] = {"count": report.n, "positives": report.n_positive}
    for name in names:
        if name == "auc":
            out["auc"] = report.auc
        elif name == "ks":
            out["ks"] = report.ks
            out["ks_curve"] = report.ks_curve.to_dict()
        elif name == "roc":
            out["roc"] = report.roc.to_dict()
        elif name == "lift":
            out["lift"] = [
                {
                    "bin": r.bin,
                    "count": r.count,
                    "lift": r.lift,
                    "cumulative_lift": r.cumulative_lift,
                }
                for r in rows
            ]
        elif name == "gain":
            out["gain"] = [
                {"bin": r.bin, "cumulative_count": r.cumulative_count, "gain": r.cumulative_gain}
                for r in rows
            ]
        elif name == "confusion_mat":
            out["confusion_mat"] = confusion.to_dict()
        elif name == "f1_score":
            out["f1_score"] = confusion.f1
        else:
            out[name] = getattr(confusion, name)
    safe: dict[str, Any] = json_safe(out)
    return safe


def regression_metrics(
    labels: NDArray[np.float64], predictions: NDArray[np.float64], names: list[str]
) -> dict[str, Any]:
    """The requested regression metrics."""
    report = evaluate_regression(labels, predictions)
    errors = labels - predictions
    values = {
        "explained_variance": 1.0 - float(np.var(errors) / np.var(labels))
        if np.var(labels) > 0
        else 0.0,
        "mean_absolute_error": report.mae,
        "mean_squared_error": report.rmse**2,
        "median_absolute_error": float(np.median(np.abs(errors))),
        "r2_score": report.r2,
        "root_mean_squared_error": report.rmse,
    }
    safe: dict[str, Any] = json_safe({"count": int(labels.size), **{n: values[n] for n in names}})
    return safe


class EvaluateParam(FateParam):
    """FATE's Evaluation parameters."""

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
            ("binary", "regression"),
            {
                "multi": "multi-class evaluation is not implemented",
                "clustering": "clustering evaluation is not implemented",
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
        if value is None or eval_type is None:
            return value
        return normalise_metrics(value, eval_type)


def run_evaluation(call: TaskCall) -> TaskResult:
    """Evaluation: metrics of every ``data`` input at the guest; nothing elsewhere."""
    param = call.params
    assert isinstance(param, EvaluateParam)
    if call.role != "guest" or not param.need_run:
        return TaskResult()
    keys = sorted(k for k, a in call.inputs.items() if a.kind == "data")
    if not keys:
        call.input("data", "data", "the predictions of a model component")
    names = normalise_metrics(param.metrics, param.eval_type)
    metrics: dict[str, Any] = {}
    for key in keys:
        table, meta = load_table_with_meta(call.inputs[key].path)
        if table.labels is None or any(c not in table.header for c in PREDICTION_COLUMNS):
            raise ComponentError(
                f"Evaluation input {key!r} is not a prediction table (labels and columns "
                f"{', '.join(PREDICTION_COLUMNS)}); connect it to a model's data output"
            )
        labels = table.labels
        scores = table.features[:, table.header.index("predict_score")]
        if param.eval_type == "binary":
            threshold = float(meta.get("threshold", 0.5))
            if str(param.pos_label) in ("0", "0.0"):
                labels, scores, threshold = 1.0 - labels, 1.0 - scores, 1.0 - threshold
            result = binary_metrics(labels, scores, names, threshold)
        else:
            result = regression_metrics(labels, scores, names)
        producer = str(meta.get("producer") or key)
        metrics.setdefault(producer, {})[str(meta.get("type", "train"))] = result
    return TaskResult(metrics=metrics)


EVALUATION = ComponentDef(
    module="Evaluation",
    roles=ALL_ROLES,
    required_roles=("guest",),
    param_model=EvaluateParam,
    runners=same_runner(run_evaluation, ALL_ROLES),
    data_inputs={"data": (1, 16)},
    need_deploy=False,
)
"""The Evaluation module's declaration."""
