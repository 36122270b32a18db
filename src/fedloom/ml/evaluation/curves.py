"""Binary curves at score-quantile thresholds: precision/recall, lift and gain.

FATE cuts these curves at quantiles of the scores rather than at every distinct score. Here the
thresholds are the scores at which 1 %, 2 %, ..., 100 % of the rows (``n_points`` steps) are
predicted positive, highest first; a threshold reached by several quantiles (ties) appears once.
A row is predicted positive when ``score >= threshold``, as in :func:`confusion_at`.

- precision / recall: of the rows predicted positive at each threshold;
- gain (cumulative gain): the recall, against the *depth* (share of rows predicted positive);
- lift: the precision over the overall positive rate, against the depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fedloom.ml.evaluation._validation import (
    FloatArray,
    as_1d_float_array,
    check_finite,
    check_same_length,
)

__all__ = ["QuantileCurve", "quantile_curve", "quantile_thresholds"]

DEFAULT_POINTS = 100
"""Quantile steps of a curve (FATE cuts at percentiles)."""


@dataclass(frozen=True, eq=False)
class QuantileCurve:
    """Counts and rates at each threshold (descending), as :func:`quantile_curve` returns them.

    ``depth[i]`` is the share of rows with ``score >= thresholds[i]``; ``precision``, ``recall``
    (= ``gain``) and ``lift`` are those of the rows predicted positive at that threshold.
    """

    thresholds: FloatArray
    predicted_positive: FloatArray
    true_positive: FloatArray
    depth: FloatArray
    precision: FloatArray
    recall: FloatArray
    lift: FloatArray

    def pr_dict(self) -> dict[str, Any]:
        """The precision-recall curve for plotting: ``x`` recall, ``y`` precision."""
        return {
            "thresholds": _floats(self.thresholds),
            "x": _floats(self.recall),
            "y": _floats(self.precision),
            "precision": _floats(self.precision),
            "recall": _floats(self.recall),
        }

    def lift_dict(self) -> dict[str, Any]:
        """The lift curve for plotting: ``x`` depth, ``y`` lift."""
        return {
            "thresholds": _floats(self.thresholds),
            "x": _floats(self.depth),
            "y": _floats(self.lift),
        }

    def gain_dict(self) -> dict[str, Any]:
        """The cumulative gain curve for plotting: ``x`` depth, ``y`` gain (recall)."""
        return {
            "thresholds": _floats(self.thresholds),
            "x": _floats(self.depth),
            "y": _floats(self.recall),
        }


def quantile_thresholds(scores: ArrayLike, n_points: int = DEFAULT_POINTS) -> FloatArray:
    """Descending distinct thresholds at which ``k/n_points`` of the rows (k = 1..n_points)
    are predicted positive (the score at that rank from the top)."""
    values = as_1d_float_array(scores, "scores")
    check_finite(values, "scores")
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 1:
        raise ValueError(f"n_points must be a positive integer; got {n_points!r}")
    ordered = np.sort(values)[::-1]
    ranks = np.ceil(np.arange(1, n_points + 1) * values.size / n_points).astype(np.int64)
    picked = ordered[np.clip(ranks, 1, values.size) - 1]
    return np.unique(picked)[::-1].copy()


def quantile_curve(
    y: ArrayLike, scores: ArrayLike, n_points: int = DEFAULT_POINTS
) -> QuantileCurve:
    """Precision, recall, depth and lift at each of :func:`quantile_thresholds`.

    Labels are 0 or 1 with at least one positive (recall and lift divide by their count).
    """
    labels = as_1d_float_array(y, "y")
    values = as_1d_float_array(scores, "scores")
    check_same_length(labels, values, "y", "scores")
    check_finite(values, "scores")
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        index = int(bad[0])
        raise ValueError(f"y must be 0 or 1; found {float(labels[index])!r} at index {index}")
    positives = float(labels.sum())
    if positives == 0:
        raise ValueError("precision, recall, lift and gain need at least one positive label")
    thresholds = quantile_thresholds(values, n_points)
    order = np.argsort(values, kind="mergesort")
    ascending = values[order]
    # Positives among the rows below each position: rows >= t are those from `first` on.
    below = np.concatenate(([0.0], np.cumsum(labels[order])))
    first = np.searchsorted(ascending, thresholds, side="left")
    predicted = (values.size - first).astype(np.float64)
    hits = positives - below[first]
    precision = hits / predicted
    return QuantileCurve(
        thresholds=thresholds,
        predicted_positive=predicted,
        true_positive=hits,
        depth=predicted / values.size,
        precision=precision,
        recall=hits / positives,
        lift=precision / (positives / values.size),
    )


def _floats(values: FloatArray) -> list[float]:
    return [float(v) for v in values]
