"""Split points of one party's columns (quantile, bucket, category, given) and bin indexes.

A numeric column's split points are the upper bounds of its bins, ascending, the last one the
column's maximum (FATE's convention): a value goes to the first bin whose split point is not
below it, and values above the last split point (later tables) to the last bin. A category
column's split points are its distinct values, one bin each.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from fedloom.ml.feature_binning.params import BinningConfig
from fedloom.ml.feature_binning.quantile import QuantileSummary

Vector = NDArray[np.float64]
Bins = NDArray[np.int64]


def quantile_points(column: Vector, bins: int, config: BinningConfig) -> list[float]:
    """FATE's quantile binning: the GK summary's ``i/bins`` quantiles, i = 1..bins (the last
    is the maximum), duplicates dropped."""
    summary = QuantileSummary(config.error, config.compress_thres, config.head_size)
    summary.insert(column)
    rates = [i / bins for i in range(1, bins)] + [1.0]
    return sorted({float(v) for v in summary.queries(rates)})


def bucket_points(column: Vector, bins: int) -> list[float]:
    """Equal-width bins between the column's minimum and maximum (the last point the max)."""
    low, high = float(np.min(column)), float(np.max(column))
    width = (high - low) / bins
    points = [low + width * (i + 1) for i in range(bins - 1)] + [high]
    return sorted({min(p, high) for p in points})


def category_points(column: Vector) -> list[float]:
    """One bin per distinct value."""
    return [float(v) for v in np.unique(column)]


def numeric_points(column: Vector, config: BinningConfig, bins: int) -> list[float]:
    """The split points of ``method`` (quantile or bucket) with ``bins`` bins at most."""
    if config.method == "bucket":
        return bucket_points(column, bins)
    return quantile_points(column, bins, config)


def bin_index(column: Vector, points: list[float]) -> Bins:
    """The bin of each value: the first split point ≥ it, values above the last in the last."""
    sp = np.asarray(points, dtype=np.float64)
    return np.minimum(np.searchsorted(sp, column, side="left"), sp.size - 1).astype(np.int64)


def category_index(column: Vector, points: list[float], name: str) -> Bins:
    """The bin of each category value; a value the model has not seen is refused."""
    sp = np.asarray(points, dtype=np.float64)
    index = np.minimum(np.searchsorted(sp, column, side="left"), sp.size - 1)
    unseen = sp[index] != column
    if np.any(unseen):
        row = int(np.flatnonzero(unseen)[0])
        raise ValueError(
            f"category column {name!r} has value {column[row]} at row {row + 1}, which the "
            "binning model has no bin for"
        )
    return index.astype(np.int64)


def check_points(points: object, name: str) -> list[float]:
    """Given split points: a non-empty ascending list of finite numbers."""
    if not isinstance(points, list) or not points:
        raise ValueError(f"split points of {name!r} must be a non-empty list")
    values = np.asarray(points, dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(np.diff(values) <= 0):
        raise ValueError(f"split points of {name!r} must be finite and strictly ascending")
    return [float(v) for v in values]
