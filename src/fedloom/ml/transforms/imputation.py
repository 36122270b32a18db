"""Missing-value imputation: which cells are missing, and one fill value per column."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

Vector = NDArray[np.float64]
Matrix = NDArray[np.float64]
Mask = NDArray[np.bool_]
METHODS = ("designated", "mean", "median", "min", "max")
"""The fill methods."""


def missing_mask(x: Matrix, listed: Sequence[float]) -> Mask:
    """Missing cells: NaN, or equal to one of ``listed``."""
    return np.isnan(x) | np.isin(x, np.asarray(list(listed), dtype=np.float64))


def fill_value(column: Vector, missing: Mask, method: str, designated: float | None) -> float:
    """The fill value of one column: ``designated``, or the mean / median / min / max of its
    present cells (numpy's exact median). ValueError if there is nothing to take it from."""
    if method == "designated":
        if designated is None:
            raise ValueError("designated filling needs a value")
        return float(designated)
    present = column[~missing]
    if present.size == 0:
        raise ValueError(f"the column has no present value to take the {method} of")
    if method == "mean":
        return float(present.mean())
    if method == "median":
        return float(np.median(present))
    if method == "min":
        return float(present.min())
    if method == "max":
        return float(present.max())
    raise ValueError(f"unknown fill method {method!r}")


def apply_fill(x: Matrix, missing: Mask, values: Sequence[float | None]) -> Matrix:
    """A copy of ``x`` with column ``j``'s missing cells set to ``values[j]`` (None: left as
    they are)."""
    out = x.copy()
    for j, value in enumerate(values):
        if value is not None:
            out[missing[:, j], j] = value
    return out


def missing_ratio(missing: Mask) -> Vector:
    """The share of missing cells in each column (0 for an empty table)."""
    rows = max(missing.shape[0], 1)
    ratio: Vector = missing.sum(axis=0) / rows
    return ratio
