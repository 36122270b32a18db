"""Input checks shared by the evaluation modules (not part of the public API)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def as_1d_float_array(values: ArrayLike, name: str) -> FloatArray:
    """Coerce ``values`` to a non-empty one-dimensional float64 array, or raise ``ValueError``."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric; could not convert it to float: {exc}") from exc
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty; at least one sample is required")
    return array


def check_same_length(
    first: FloatArray, second: FloatArray, first_name: str, second_name: str
) -> None:
    """Raise ``ValueError`` unless the two arrays have the same length."""
    if first.size != second.size:
        raise ValueError(
            f"{first_name} and {second_name} must have the same length; "
            f"got {first.size} and {second.size}"
        )


def check_finite(values: FloatArray, name: str) -> None:
    """Raise ``ValueError`` naming the first NaN or infinite entry of ``values``, if any."""
    non_finite = np.flatnonzero(~np.isfinite(values))
    if non_finite.size:
        index = int(non_finite[0])
        raise ValueError(f"{name} must be finite; found {float(values[index])!r} at index {index}")
