"""One-hot encoding of integer-valued columns: the values seen in fit, one 0/1 column each."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

Vector = NDArray[np.float64]
Matrix = NDArray[np.float64]
ONE_HOT_LIMIT = 1024
"""The most distinct values a column may have (FATE's ``ONE_HOT_LIMIT``)."""


class EncodeError(ValueError):
    """A column cannot be one-hot encoded; ``row`` is the first offending row, if any."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


def fit_values(column: Vector, limit: int = ONE_HOT_LIMIT) -> list[int]:
    """The sorted distinct values of ``column``; EncodeError for a missing or non-integer
    cell (FATE encodes integers only) or more than ``limit`` values."""
    bad = np.flatnonzero(~np.isfinite(column) | (column != np.round(column)))
    if bad.size:
        row = int(bad[0])
        raise EncodeError(f"value {column[row]} is not an integer", row)
    values = np.unique(column)
    if values.size > limit:
        raise EncodeError(f"{values.size} distinct values, more than the limit of {limit}")
    return [int(v) for v in values.tolist()]


def value_name(column: str, value: int) -> str:
    """FATE's name of the encoded column of ``value``: ``<column>_<value>``."""
    return f"{column}_{value}"


def encode(column: Vector, values: Sequence[int]) -> Matrix:
    """One 0/1 column per fitted value; a value not seen in fit (or a missing cell) gives a row
    of zeros, as in FATE."""
    known = np.asarray(values, dtype=np.float64)
    encoded: Matrix = (column[:, None] == known[None, :]).astype(np.float64)
    return encoded
