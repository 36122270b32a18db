"""Multi-class metrics of predicted classes: accuracy and per-class / macro precision, recall.

Labels and predictions are class values (floats); a class absent from both contributes
nothing. Precision (recall) of a class never predicted (never present) is 0.0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fedloom.ml.evaluation._validation import as_1d_float_array, check_finite, check_same_length

__all__ = ["multiclass_metrics"]


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
