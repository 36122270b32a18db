"""Feature scaling: per-column bounds, min-max and standard scaling of one party's columns.

Missing cells (NaN) are left out of every statistic and stay missing. The state of a fit is one
:class:`ColumnScale` per scaled column; :func:`apply_scale` applies it to any table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]
Vector = NDArray[np.float64]
STD_FLOOR = 1e-6
"""A standard deviation below this scales by 1 (a constant column), as FATE does."""


@dataclass(frozen=True)
class ColumnScale:
    """The fitted state of one column: its clipping bounds, and the mean and standard deviation
    of standard scaling (min-max scaling uses the bounds only: mean 0, std 0, as FATE's
    model has them)."""

    column_upper: float
    column_lower: float
    mean: float
    std: float


def bounds(
    x: Matrix,
    mode: str,
    feat_upper: Sequence[float | None],
    feat_lower: Sequence[float | None],
) -> tuple[Vector, Vector]:
    """(lower, upper) of each column of ``x``.

    ``normal``: the column's min and max, limited to ``[feat_lower, feat_upper]`` where given
    (a bound beyond the data moves both ends, so lower ≤ upper always). ``cap``: the
    ``feat_lower`` / ``feat_upper`` quantiles of the column (0 and 1 when None), taken as data
    values (numpy's ``inverted_cdf``). A column with no present value raises ValueError.
    """
    present = ~np.isnan(x)
    empty = np.flatnonzero(~present.any(axis=0))
    if empty.size:
        raise ValueError(f"column {int(empty[0])} has no value to scale by")
    if mode == "cap":
        lower = np.asarray(
            [_quantile(x[:, j], 0.0 if q is None else q) for j, q in enumerate(feat_lower)]
        )
        upper = np.asarray(
            [_quantile(x[:, j], 1.0 if q is None else q) for j, q in enumerate(feat_upper)]
        )
        return lower, upper
    if mode != "normal":
        raise ValueError(f"unknown mode {mode!r}")
    lower, upper = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    for j, (hi, lo) in enumerate(zip(feat_upper, feat_lower, strict=True)):
        if hi is not None:
            upper[j], lower[j] = min(upper[j], hi), min(lower[j], hi)
        if lo is not None:
            upper[j], lower[j] = max(upper[j], lo), max(lower[j], lo)
    return lower, upper


def fit_min_max(x: Matrix, lower: Vector, upper: Vector) -> list[ColumnScale]:
    """The min-max state of each column: its bounds."""
    del x  # min-max scaling needs the bounds only
    return [ColumnScale(float(u), float(lo), 0.0, 0.0) for lo, u in zip(lower, upper, strict=True)]


def fit_standard(
    x: Matrix, lower: Vector, upper: Vector, with_mean: bool, with_std: bool
) -> list[ColumnScale]:
    """The standard-scaling state: mean and population standard deviation of each column
    after clipping to its bounds (0 / 1 without ``with_mean`` / ``with_std``)."""
    clipped = np.clip(x, lower, upper)
    mean = np.nanmean(clipped, axis=0) if with_mean else np.zeros(x.shape[1])
    std = np.nanstd(clipped, axis=0) if with_std else np.ones(x.shape[1])
    std = np.where(np.abs(std) < STD_FLOOR, 1.0, std)
    return [
        ColumnScale(float(u), float(lo), float(m), float(s))
        for lo, u, m, s in zip(lower, upper, mean, std, strict=True)
    ]


def apply_scale(x: Matrix, method: str, state: Sequence[ColumnScale]) -> Matrix:
    """``x`` (one column per state entry) clipped to the bounds and scaled; NaN stays NaN.

    ``min_max_scale``: ``(x - lower) / (upper - lower)`` (a zero range divides by 1);
    ``standard_scale``: ``(x - mean) / std``.
    """
    if x.shape[1] != len(state):
        raise ValueError(f"{x.shape[1]} columns for {len(state)} fitted columns")
    lower = np.asarray([s.column_lower for s in state], dtype=np.float64)
    upper = np.asarray([s.column_upper for s in state], dtype=np.float64)
    if np.any(upper < lower):
        raise ValueError("a column's upper bound is below its lower bound")
    clipped = np.clip(x, lower, upper)
    if method == "min_max_scale":
        span = upper - lower
        return (clipped - lower) / np.where(span == 0, 1.0, span)
    if method == "standard_scale":
        mean = np.asarray([s.mean for s in state], dtype=np.float64)
        std = np.asarray([s.std for s in state], dtype=np.float64)
        if np.any(std == 0):
            raise ValueError("a standard deviation of 0 cannot scale")
        return (clipped - mean) / std
    raise ValueError(f"unknown method {method!r}")


def _quantile(column: Vector, q: float) -> float:
    return float(np.nanquantile(column, q, method="inverted_cdf"))
