"""SampleWeight's instance weights, computed at the guest (numpy in, numpy out)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from fedloom.ml.sampling._common import label_key

Vector = NDArray[np.float64]


def balanced_class_weights(labels: Vector) -> dict[str, float]:
    """FATE's (and scikit-learn's) balanced weights: ``n / (classes · count(class))`` per
    class, keyed by :func:`label_key`."""
    values, counts = np.unique(labels, return_counts=True)
    n, k = labels.size, values.size
    return {label_key(v): float(n / (k * c)) for v, c in zip(values, counts, strict=True)}


def class_weights(labels: Vector, weights: Mapping[str, float]) -> Vector:
    """Each row's weight: its class's (keys as :func:`label_key` names them); 1 for a class
    ``weights`` does not list (as FATE)."""
    by_value = {float(key): float(w) for key, w in weights.items()}
    return np.asarray([by_value.get(float(v), 1.0) for v in labels], dtype=np.float64)


def column_weights(values: Vector, normalize: bool) -> Vector:
    """Weights read from a column; with ``normalize`` divided by their mean (FATE: the sum
    over the row count), so that they average 1."""
    weights = np.asarray(values, dtype=np.float64).copy()
    if normalize:
        mean = float(weights.mean()) if weights.size else 0.0
        if mean <= 0.0:
            raise ValueError("normalize needs weights with a positive mean")
        weights = weights / mean
    return weights
