"""Binary classification metrics: ROC/AUC, KS, confusion counts, and lift/gain tables.

Every function takes labels ``y`` (0 or 1) and ``scores`` (the predicted probability, or any
monotone score, of class 1) as equal-length lists or one-dimensional arrays, and raises
``ValueError`` naming the problem when the input is unusable.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fedloom.ml.evaluation._validation import (
    FloatArray,
    as_1d_float_array,
    check_finite,
    check_same_length,
)

__all__ = [
    "BinaryReport",
    "ConfusionMetrics",
    "KsCurve",
    "LiftGainRow",
    "RocCurve",
    "auc",
    "confusion_at",
    "evaluate_binary",
    "ks",
    "ks_curve",
    "lift_gain_table",
    "roc_curve",
]


@dataclass(frozen=True, eq=False)
class RocCurve:
    """ROC curve points, one per distinct score, as returned by :func:`roc_curve`.

    ``thresholds`` is strictly descending and starts at ``+inf`` (nothing predicted positive),
    so ``fpr`` and ``tpr`` start at 0 and end at 1. The point at index ``i`` is what predicting
    1 for ``score >= thresholds[i]`` yields. Arrays are read-only.
    """

    fpr: FloatArray
    tpr: FloatArray
    thresholds: FloatArray

    def to_dict(self) -> dict[str, Any]:
        """Return the curve as JSON-safe lists; the ``+inf`` threshold is rendered as ``None``."""
        return {
            "fpr": _float_list(self.fpr),
            "tpr": _float_list(self.tpr),
            "thresholds": _threshold_list(self.thresholds),
        }


@dataclass(frozen=True, eq=False)
class KsCurve:
    """Kolmogorov–Smirnov curve: TPR, FPR and their gap at every ROC threshold.

    ``ks_values[i]`` is ``tpr[i] - fpr[i]``; ``ks`` is its maximum and ``threshold_at_ks`` the
    highest threshold attaining it (gaps are compared exactly, free of rounding). That threshold
    is ``+inf`` only when no score threshold beats predicting nothing positive (``ks == 0``).
    Arrays are read-only.
    """

    thresholds: FloatArray
    tpr: FloatArray
    fpr: FloatArray
    ks_values: FloatArray
    ks: float
    threshold_at_ks: float

    def to_dict(self) -> dict[str, Any]:
        """Return the curve as JSON-safe builtins; ``+inf`` thresholds are rendered as ``None``."""
        return {
            "thresholds": _threshold_list(self.thresholds),
            "tpr": _float_list(self.tpr),
            "fpr": _float_list(self.fpr),
            "ks_values": _float_list(self.ks_values),
            "ks": self.ks,
            "threshold_at_ks": _threshold_value(self.threshold_at_ks),
        }


@dataclass(frozen=True)
class ConfusionMetrics:
    """Confusion counts and derived rates when predicting 1 for ``score >= threshold``.

    ``precision`` is 0.0 when nothing is predicted positive, ``recall`` is 0.0 when ``y`` has no
    positives, and ``f1`` is 0.0 when both are 0, matching scikit-learn's ``zero_division=0``.
    """

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int
    accuracy: float
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict of builtin ints and floats."""
        return asdict(self)


@dataclass(frozen=True)
class LiftGainRow:
    """One score bin of a lift/gain table, bins ordered from highest to lowest score.

    ``lift`` is the bin's positive rate over the overall positive rate; ``cumulative_gain`` is the
    share of all positives captured by this bin and the ones above it; ``cumulative_lift`` is the
    positive rate of those bins together over the overall positive rate.
    """

    bin: int
    count: int
    positives: int
    positive_rate: float
    lift: float
    cumulative_count: int
    cumulative_positives: int
    cumulative_gain: float
    cumulative_lift: float

    def to_dict(self) -> dict[str, Any]:
        """Return the row as a dict of builtin ints and floats."""
        return asdict(self)


@dataclass(frozen=True, eq=False)
class BinaryReport:
    """Everything :func:`evaluate_binary` computes for one set of labels and scores."""

    n: int
    n_positive: int
    auc: float
    ks: float
    confusion: ConfusionMetrics
    roc: RocCurve
    ks_curve: KsCurve
    lift_table: tuple[LiftGainRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as nested JSON-safe builtins (``+inf`` thresholds become ``None``)."""
        return {
            "n": self.n,
            "n_positive": self.n_positive,
            "auc": self.auc,
            "ks": self.ks,
            "confusion": self.confusion.to_dict(),
            "roc": self.roc.to_dict(),
            "ks_curve": self.ks_curve.to_dict(),
            "lift_table": [row.to_dict() for row in self.lift_table],
        }


def auc(y: ArrayLike, scores: ArrayLike) -> float:
    """Return the area under the ROC curve.

    Computed in the Mann–Whitney form from average ranks, so a tied positive/negative pair counts
    one half; O(n log n). Raises ``ValueError`` if only one class is present.
    """
    labels, values = _validate_binary(y, scores)
    _require_both_classes(labels, "auc")
    return _auc(labels, values)


def ks(y: ArrayLike, scores: ArrayLike) -> float:
    """Return the Kolmogorov–Smirnov statistic, ``max(TPR - FPR)`` over all thresholds.

    The maximum includes the threshold ``+inf`` (TPR = FPR = 0), so the result lies in [0, 1].
    Raises ``ValueError`` if only one class is present.
    """
    labels, values = _validate_binary(y, scores)
    _require_both_classes(labels, "ks")
    return _ks_curve(labels, values).ks


def roc_curve(y: ArrayLike, scores: ArrayLike) -> RocCurve:
    """Return the ROC curve with one point per distinct score plus the ``+inf`` starting point.

    Equivalent to ``sklearn.metrics.roc_curve(y, scores, drop_intermediate=False)``.
    Raises ``ValueError`` if only one class is present.
    """
    labels, values = _validate_binary(y, scores)
    _require_both_classes(labels, "roc_curve")
    return _roc_curve(labels, values)


def ks_curve(y: ArrayLike, scores: ArrayLike) -> KsCurve:
    """Return TPR, FPR and ``TPR - FPR`` at every ROC threshold, with the KS value and threshold.

    Raises ``ValueError`` if only one class is present.
    """
    labels, values = _validate_binary(y, scores)
    _require_both_classes(labels, "ks_curve")
    return _ks_curve(labels, values)


def confusion_at(y: ArrayLike, scores: ArrayLike, threshold: float = 0.5) -> ConfusionMetrics:
    """Return confusion counts, accuracy, precision, recall and F1 at ``threshold``.

    A sample is predicted 1 when ``score >= threshold``. Precision, recall and F1 are 0.0 when
    their denominator is 0. Raises ``ValueError`` if ``threshold`` is NaN or infinite.
    """
    labels, values = _validate_binary(y, scores)
    return _confusion_at(labels, values, _validate_threshold(threshold))


def lift_gain_table(
    y: ArrayLike, scores: ArrayLike, n_bins: int | np.integer[Any] = 10
) -> list[LiftGainRow]:
    """Return a lift/gain table over ``n_bins`` near-equal bins of descending score.

    Samples are sorted by score, highest first (ties keep their input order), and split with
    ``np.array_split``, so the first ``n % n_bins`` bins hold one extra sample and tied scores may
    straddle a bin boundary. Raises ``ValueError`` unless ``1 <= n_bins <= len(y)`` and ``y``
    contains at least one positive (lift and gain divide by the positive count).
    """
    labels, values = _validate_binary(y, scores)
    return _lift_gain_table(labels, values, _validate_n_bins(n_bins, labels.size))


def evaluate_binary(
    y: ArrayLike, scores: ArrayLike, threshold: float = 0.5, n_bins: int | np.integer[Any] = 10
) -> BinaryReport:
    """Compute every binary metric in this module at once and bundle them in a report.

    Validation is the union of the individual functions': both classes must be present,
    ``threshold`` must be finite and ``1 <= n_bins <= len(y)``.
    """
    labels, values = _validate_binary(y, scores)
    _require_both_classes(labels, "evaluate_binary")
    checked_threshold = _validate_threshold(threshold)
    checked_bins = _validate_n_bins(n_bins, labels.size)
    curve = _ks_curve(labels, values)
    return BinaryReport(
        n=int(labels.size),
        n_positive=int(labels.sum()),
        auc=_auc(labels, values),
        ks=curve.ks,
        confusion=_confusion_at(labels, values, checked_threshold),
        roc=_roc_curve(labels, values),
        ks_curve=curve,
        lift_table=tuple(_lift_gain_table(labels, values, checked_bins)),
    )


def _auc(labels: FloatArray, values: FloatArray) -> float:
    n = values.size
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    group_starts = np.concatenate(([0], np.flatnonzero(np.diff(sorted_values)) + 1))
    group_ends = np.concatenate((group_starts[1:], [n]))
    # 1-based ranks start+1 .. end share their mean rank.
    mean_ranks = (group_starts + group_ends + 1) / 2.0
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.repeat(mean_ranks, group_ends - group_starts)
    n_pos = float(labels.sum())
    n_neg = n - n_pos
    u_statistic = float(ranks[labels == 1].sum()) - n_pos * (n_pos + 1) / 2.0
    return u_statistic / (n_pos * n_neg)


def _roc_counts(
    labels: FloatArray, values: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return descending thresholds (led by +inf) with the TP and FP counts at each."""
    order = np.argsort(-values, kind="mergesort")
    sorted_values = values[order]
    last_of_group = np.concatenate(
        (np.flatnonzero(np.diff(sorted_values)), [sorted_values.size - 1])
    )
    tps = np.cumsum(labels[order])[last_of_group]
    fps = (last_of_group + 1) - tps
    return (
        np.concatenate(([np.inf], sorted_values[last_of_group])),
        np.concatenate(([0.0], tps)),
        np.concatenate(([0.0], fps)),
    )


def _roc_curve(labels: FloatArray, values: FloatArray) -> RocCurve:
    thresholds, tps, fps = _roc_counts(labels, values)
    return RocCurve(
        fpr=_read_only(fps / fps[-1]),
        tpr=_read_only(tps / tps[-1]),
        thresholds=_read_only(thresholds),
    )


def _ks_curve(labels: FloatArray, values: FloatArray) -> KsCurve:
    thresholds, tps, fps = _roc_counts(labels, values)
    n_pos = tps[-1]
    n_neg = fps[-1]
    # TPR - FPR over a common denominator: integer-valued, so equal gaps tie exactly in argmax.
    scaled_gaps = tps * n_neg - fps * n_pos
    best = int(np.argmax(scaled_gaps))
    gaps = scaled_gaps / (n_pos * n_neg)
    return KsCurve(
        thresholds=_read_only(thresholds),
        tpr=_read_only(tps / n_pos),
        fpr=_read_only(fps / n_neg),
        ks_values=_read_only(gaps),
        ks=float(gaps[best]),
        threshold_at_ks=float(thresholds[best]),
    )


def _confusion_at(labels: FloatArray, values: FloatArray, threshold: float) -> ConfusionMetrics:
    predicted = values >= threshold
    actual = labels == 1
    tp = int(np.count_nonzero(predicted & actual))
    fp = int(np.count_nonzero(predicted & ~actual))
    fn = int(np.count_nonzero(~predicted & actual))
    tn = int(labels.size) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return ConfusionMetrics(
        threshold=threshold,
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
        accuracy=(tp + tn) / labels.size,
        precision=precision,
        recall=recall,
        f1=f1,
    )


def _lift_gain_table(labels: FloatArray, values: FloatArray, n_bins: int) -> list[LiftGainRow]:
    total_positives = int(labels.sum())
    if total_positives == 0:
        raise ValueError("lift_gain_table needs at least one positive label in y; found none")
    overall_rate = total_positives / labels.size
    sorted_labels = labels[np.argsort(-values, kind="mergesort")]
    rows: list[LiftGainRow] = []
    cumulative_count = 0
    cumulative_positives = 0
    for index, chunk in enumerate(np.array_split(sorted_labels, n_bins), start=1):
        count = int(chunk.size)
        positives = int(chunk.sum())
        cumulative_count += count
        cumulative_positives += positives
        positive_rate = positives / count
        rows.append(
            LiftGainRow(
                bin=index,
                count=count,
                positives=positives,
                positive_rate=positive_rate,
                lift=positive_rate / overall_rate,
                cumulative_count=cumulative_count,
                cumulative_positives=cumulative_positives,
                cumulative_gain=cumulative_positives / total_positives,
                cumulative_lift=(cumulative_positives / cumulative_count) / overall_rate,
            )
        )
    return rows


def _validate_binary(y: ArrayLike, scores: ArrayLike) -> tuple[FloatArray, FloatArray]:
    labels = as_1d_float_array(y, "y")
    values = as_1d_float_array(scores, "scores")
    check_same_length(labels, values, "y", "scores")
    invalid = np.flatnonzero((labels != 0) & (labels != 1))
    if invalid.size:
        index = int(invalid[0])
        raise ValueError(
            f"y must contain only the labels 0 and 1; "
            f"found {float(labels[index])!r} at index {index}"
        )
    check_finite(values, "scores")
    return labels, values


def _require_both_classes(labels: FloatArray, metric: str) -> None:
    n_pos = int(labels.sum())
    if n_pos in (0, labels.size):
        raise ValueError(
            f"{metric} is undefined when y contains only one class "
            f"(every label is {1 if n_pos else 0}); both 0 and 1 are required"
        )


def _validate_threshold(threshold: float) -> float:
    value = float(threshold)
    if not math.isfinite(value):
        raise ValueError(f"threshold must be a finite number; got {value!r}")
    return value


def _validate_n_bins(n_bins: int | np.integer[Any], n_samples: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer):
        raise ValueError(f"n_bins must be an integer; got {n_bins!r}")
    if not 1 <= n_bins <= n_samples:
        raise ValueError(
            f"n_bins must be between 1 and the number of samples ({n_samples}); got {n_bins}"
        )
    return int(n_bins)


def _read_only(array: FloatArray) -> FloatArray:
    array.setflags(write=False)
    return array


def _float_list(array: FloatArray) -> list[float]:
    return [float(value) for value in array]


def _threshold_value(value: float) -> float | None:
    return None if math.isinf(value) else float(value)


def _threshold_list(array: FloatArray) -> list[float | None]:
    return [_threshold_value(float(value)) for value in array]
