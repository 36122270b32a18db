"""Evaluation: metrics of the predictions upstream model components wrote, at the guest.

Parameters keep FATE's ``EvaluateParam`` names (:mod:`.evaluation_param`); metric names and
aliases are FATE's. Every ``data`` input is a prediction table (``._glm_output``) evaluated on
its own and reported as ``metrics[producer][type]`` (``type``: train / validate / test from the
table meta); ``unfold_multi_result`` adds ``metrics["<producer>_class_<c>"][type]``, the binary
evaluation of class ``c`` against the rest, from the per-class scores in ``predict_detail``.
``psi`` compares a producer's train scores (expected) with its validate scores (actual) and is
reported under ``validate``. Curves are data for plotting: ``x`` / ``y`` lists with their
``thresholds`` (``None`` stands for the ``+inf`` of a ROC curve's first point).

Hosts and the arbiter hold no labels and no predictions: their Evaluation task does nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fedloom.components.base import (
    ALL_ROLES,
    ComponentDef,
    ComponentError,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.evaluation_param import (
    BINARY_METRICS,
    MULTI_METRICS,
    REGRESSION_METRICS,
    EvaluateParam,
    normalise_metrics,
)
from fedloom.components.io import json_safe, load_table_with_meta
from fedloom.data import Table
from fedloom.ml.evaluation import (
    confusion_at,
    evaluate_binary,
    multiclass_report,
    population_stability,
    quantile_curve,
    regression_values,
)

__all__ = [
    "BINARY_METRICS",
    "EVALUATION",
    "MULTI_METRICS",
    "PREDICTION_COLUMNS",
    "REGRESSION_METRICS",
    "EvaluateParam",
    "binary_metrics",
    "multi_metrics",
    "normalise_metrics",
    "regression_metrics",
    "run_evaluation",
]

Vector = NDArray[np.float64]
PREDICTION_COLUMNS = ("predict_result", "predict_score")
PSI_BINS = 20
"""Quantile bins of the train scores for ``psi`` (FATE's evaluation uses 20)."""


def binary_metrics(
    labels: Vector, scores: Vector, names: list[str], threshold: float
) -> dict[str, Any]:
    """The requested binary metrics of one table, JSON-safe.

    Scalars at ``threshold`` (``accuracy``, ``precision``, ``recall``, ``f1_score``,
    ``confusion_mat``), ``auc``, ``ks`` (+ ``ks_curve``), and curves: ``roc`` (x = fpr,
    y = tpr), ``lift`` and ``gain`` (x = depth), ``quantile_pr`` (x = recall, y = precision).
    ``psi`` needs two tables and is left to :func:`run_evaluation`.
    """
    out: dict[str, Any] = {"count": int(labels.size), "positives": int(labels.sum())}
    report = None
    if {"auc", "ks", "roc"} & set(names):
        report = evaluate_binary(labels, scores, threshold=threshold, n_bins=1)
    curve = quantile_curve(labels, scores) if {"lift", "gain", "quantile_pr"} & set(names) else None
    confusion = confusion_at(labels, scores, threshold)
    for name in names:
        if name == "auc" and report is not None:
            out["auc"] = report.auc
        elif name == "ks" and report is not None:
            out["ks"] = report.ks
            out["ks_curve"] = report.ks_curve.to_dict()
        elif name == "roc" and report is not None:
            roc = report.roc.to_dict()
            out["roc"] = {"x": roc["fpr"], "y": roc["tpr"], **roc}
        elif name == "lift" and curve is not None:
            out["lift"] = curve.lift_dict()
        elif name == "gain" and curve is not None:
            out["gain"] = curve.gain_dict()
        elif name == "quantile_pr" and curve is not None:
            out["quantile_pr"] = curve.pr_dict()
        elif name == "confusion_mat":
            out["confusion_mat"] = confusion.to_dict()
        elif name == "f1_score":
            out["f1_score"] = confusion.f1
        elif name in ("accuracy", "precision", "recall"):
            out[name] = getattr(confusion, name)
    safe: dict[str, Any] = json_safe(out)
    return safe


def multi_metrics(labels: Vector, predicted: Vector, names: list[str]) -> dict[str, Any]:
    """``accuracy``; ``precision`` / ``recall`` as macro averages with ``*_micro`` and
    ``per_class`` (each class's value, ``support`` and ``predicted`` counts)."""
    report = multiclass_report(labels, predicted)
    out: dict[str, Any] = {"count": report["count"], "classes": report["classes"]}
    per_class: dict[str, dict[str, Any]] = {
        c: {"support": v["support"], "predicted": v["predicted"]}
        for c, v in report["per_class"].items()
    }
    for name in names:
        if name == "accuracy":
            out["accuracy"] = report["accuracy"]
            continue
        out[name] = report[name]
        out[f"{name}_micro"] = report[f"{name}_micro"]
        for c, v in report["per_class"].items():
            per_class[c][name] = v[name]
    out["per_class"] = per_class
    safe: dict[str, Any] = json_safe(out)
    return safe


def regression_metrics(labels: Vector, predictions: Vector, names: list[str]) -> dict[str, Any]:
    """The requested regression metrics of one table."""
    try:
        values = regression_values(labels, predictions, names)
    except ValueError as exc:
        raise ComponentError(f"Evaluation: {exc}") from None
    safe: dict[str, Any] = json_safe({"count": int(labels.size), **values})
    return safe


def run_evaluation(call: TaskCall) -> TaskResult:
    """Evaluation: metrics of every ``data`` input at the guest; nothing elsewhere."""
    param = call.params
    assert isinstance(param, EvaluateParam)
    if call.role != "guest" or not param.need_run:
        return TaskResult()
    keys = sorted(k for k, a in call.inputs.items() if a.kind == "data")
    if not keys:
        call.input("data", "data", "the predictions of a model component")
    names = param.metric_names
    metrics: dict[str, Any] = {}
    seen: dict[tuple[str, str], Path] = {}
    scores: dict[tuple[str, str], tuple[Vector, Vector]] = {}
    for key in keys:
        path = call.inputs[key].path
        table, meta = _prediction_table(key, path)
        producer, data_type = str(meta.get("producer") or key), str(meta.get("type", "train"))
        if seen.setdefault((producer, data_type), path) != path:
            raise ComponentError(
                f"Evaluation inputs {key!r} and another input are both {producer}'s "
                f"{data_type} predictions; evaluate them in separate components"
            )
        assert table.labels is not None
        labels = table.labels
        column = table.features[:, table.header.index("predict_score")]
        if param.eval_type == "binary":
            labels, column, result = _binary(key, param, labels, column, meta, names)
            scores[(producer, data_type)] = (labels, column)
        elif param.eval_type == "multi":
            predicted = table.features[:, table.header.index("predict_result")]
            try:
                result = multi_metrics(labels, predicted, names)
            except ValueError as exc:
                raise ComponentError(f"Evaluation input {key!r}: {exc}") from None
            if param.unfold_multi_result:
                for cls, values in _unfold(key, labels, meta).items():
                    entry = metrics.setdefault(f"{producer}_class_{cls}", {})
                    entry[data_type] = values
        else:
            result = regression_metrics(labels, column, names)
        metrics.setdefault(producer, {})[data_type] = result
    if param.eval_type == "binary" and "psi" in names:
        _add_psi(metrics, scores, param.metrics_named)
    return TaskResult(metrics=metrics)


def _prediction_table(key: str, path: Path) -> tuple[Table, dict[str, Any]]:
    table, meta = load_table_with_meta(path)
    if table.labels is None or any(c not in table.header for c in PREDICTION_COLUMNS):
        raise ComponentError(
            f"Evaluation input {key!r} is not a prediction table with labels (columns "
            f"{', '.join(PREDICTION_COLUMNS)}); connect it to a model's data output"
        )
    return table, meta


def _binary(
    key: str,
    param: EvaluateParam,
    labels: Vector,
    scores: Vector,
    meta: dict[str, Any],
    names: list[str],
) -> tuple[Vector, Vector, dict[str, Any]]:
    if meta.get("classes") or np.any((labels != 0) & (labels != 1)):
        raise ComponentError(
            f"Evaluation input {key!r} holds multi-class predictions (labels other than 0 "
            "and 1): use eval_type 'multi'"
        )
    if not 0 < labels.sum() < labels.size:
        raise ComponentError(
            f"Evaluation input {key!r} has labels of one class only; binary metrics need both"
        )
    threshold = float(meta.get("threshold", 0.5))
    if str(param.pos_label) in ("0", "0.0"):
        labels, scores, threshold = 1.0 - labels, 1.0 - scores, 1.0 - threshold
    try:
        return labels, scores, binary_metrics(labels, scores, names, threshold)
    except ValueError as exc:
        raise ComponentError(f"Evaluation input {key!r}: {exc}") from None


def _unfold(key: str, labels: Vector, meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One-vs-rest binary metrics per class from ``predict_detail`` (class → score)."""
    details = meta.get("predict_detail")
    if not isinstance(details, list) or len(details) != labels.size:
        raise ComponentError(
            f"Evaluation input {key!r} has no predict_detail per row: unfold_multi_result "
            "needs each class's score"
        )
    try:
        rows = [json.loads(d) for d in details]
        classes = list(rows[0]) if rows else []
        matrix = np.asarray([[float(r[c]) for c in classes] for r in rows], dtype=np.float64)
        values = [float(c) for c in classes]
    except (TypeError, ValueError, KeyError) as exc:
        raise ComponentError(f"Evaluation input {key!r}: bad predict_detail ({exc})") from None
    names = [m for m in BINARY_METRICS if m not in ("psi", "quantile_pr")]
    out: dict[str, dict[str, Any]] = {}
    for j, (cls, value) in enumerate(zip(classes, values, strict=True)):
        target = (labels == value).astype(np.float64)
        if 0 < target.sum() < target.size:
            try:
                out[cls] = binary_metrics(target, matrix[:, j], names, 0.5)
            except ValueError as exc:
                raise ComponentError(f"Evaluation input {key!r}, class {cls}: {exc}") from None
        else:
            out[cls] = {"count": int(target.size), "positives": int(target.sum())}
    return out


def _add_psi(
    metrics: dict[str, Any],
    scores: dict[tuple[str, str], tuple[Vector, Vector]],
    named: bool,
) -> None:
    """PSI of each producer's validate scores against its train scores, under ``validate``."""
    pairs = [p for (p, t) in scores if t == "validate" and (p, "train") in scores]
    if named and not pairs:
        raise ComponentError(
            "metric 'psi' compares a model's train and validate predictions: connect both "
            "(a table of type 'train' and one of type 'validate' from the same component)"
        )
    for producer in pairs:
        train_labels, train = scores[(producer, "train")]
        valid_labels, valid = scores[(producer, "validate")]
        report = population_stability(train, valid, PSI_BINS)
        result = report.to_dict()
        result["expected_positive_rate"] = _bin_rates(train_labels, train, report.split_points)
        result["actual_positive_rate"] = _bin_rates(valid_labels, valid, report.split_points)
        metrics[producer]["validate"]["psi"] = json_safe(result)


def _bin_rates(labels: Vector, scores: Vector, points: Vector) -> list[float | None]:
    """The positive share of each score bin (None for an empty bin)."""
    bins = np.searchsorted(points, scores, side="left")
    counts = np.bincount(bins, minlength=points.size + 1)
    hits = np.bincount(bins, weights=labels, minlength=points.size + 1)
    return [float(h / c) if c else None for h, c in zip(hits, counts, strict=True)]


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
