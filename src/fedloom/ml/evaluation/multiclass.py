"""Multi-class metrics of predicted classes: accuracy and per-class / macro / micro precision
and recall.

Labels and predictions are class values (floats); a class absent from both contributes
nothing. Precision (recall) of a class never predicted (never present) is 0.0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fedloom.ml.evaluation._validation import as_1d_float_array, check_finite, check_same_length

__all__ = ["multiclass_metrics", "multiclass_report"]


def multiclass_metrics(y: ArrayLike, predicted: ArrayLike) -> dict[str, Any]:
    """``{"count", "accuracy", "precision", "recall"}``: precision and recall are macro
    averages over the classes of ``y`` and ``predicted``; ``per_class`` has each class's."""
    labels = as_1d_float_array(y, "y")
    values = as_1d_float_array(predicted, "predicted")
    check_same_length(labels, values, "y", "predicted")
    check_finite(labels, "y")
    check_finite(values, "predicted")
    per_class: dict[str, dict[str, float]] = {}
    for value in np.union1d(labels, values).tolist():
        hit = float(np.sum((labels == value) & (values == value)))
        shown, actual = float(np.sum(values == value)), float(np.sum(labels == value))
        name = str(int(value)) if float(value).is_integer() else repr(value)
        per_class[name] = {
            "precision": hit / shown if shown else 0.0,
            "recall": hit / actual if actual else 0.0,
        }
    return {
        "count": int(labels.size),
        "accuracy": float(np.mean(labels == values)),
        "precision": float(np.mean([c["precision"] for c in per_class.values()])),
        "recall": float(np.mean([c["recall"] for c in per_class.values()])),
        "per_class": per_class,
    }


def multiclass_report(y: ArrayLike, predicted: ArrayLike) -> dict[str, Any]:
    """Everything :func:`multiclass_metrics` reports, plus micro averages and counts.

    ``per_class[c]`` has ``precision``, ``recall``, ``support`` (rows of class ``c``) and
    ``predicted`` (rows predicted ``c``). Micro precision and recall pool the counts of all
    classes; with one predicted class per row both equal the accuracy (as scikit-learn's
    ``average="micro"``).
    """
    report = multiclass_metrics(y, predicted)
    labels = as_1d_float_array(y, "y")
    values = as_1d_float_array(predicted, "predicted")
    hits = 0.0
    for value in np.union1d(labels, values).tolist():
        name = str(int(value)) if float(value).is_integer() else repr(value)
        entry = report["per_class"][name]
        entry["support"] = int(np.sum(labels == value))
        entry["predicted"] = int(np.sum(values == value))
        hits += float(np.sum((labels == value) & (values == value)))
    report["classes"] = list(report["per_class"])
    report["precision_micro"] = hits / labels.size
    report["recall_micro"] = hits / labels.size
    return report
