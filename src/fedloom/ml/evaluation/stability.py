"""Population stability index (PSI) of one variable between an expected and an actual sample.

The bins are quantile bins of the *expected* values: split points are the expected values at
the levels ``k / max_bin_num`` (k = 1 .. max_bin_num − 1; exact quantiles, the smallest value
with at least that share of rows at or below it), duplicates and points at or above the
expected maximum dropped, so a variable with few distinct values gets fewer bins. A value ``v``
falls in the first bin whose split point is ``>= v`` (bins are ``(lower, upper]``); the last bin
is open above. NaN values (missing) form one more bin, present when either sample has one.

Per bin, with ``e`` and ``a`` the expected and actual shares of rows:
``psi = (a − e) · ln(a / e)``, where a share of 0 is replaced by ``ADJUST_VALUE`` (1e-6, as
FATE does) so that an empty bin adds a large but finite term. The index is the sum over bins.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fedloom.ml.evaluation._validation import FloatArray, as_1d_float_array

__all__ = ["ADJUST_VALUE", "StabilityReport", "population_stability", "quantile_split_points"]

ADJUST_VALUE = 1e-6
"""The share used in place of 0 for an empty bin."""
MISSING = "missing"
"""The interval label of the missing-value bin."""


@dataclass(frozen=True, eq=False)
class StabilityReport:
    """The PSI of one variable and its per-bin details (``missing`` bin last, if any)."""

    split_points: FloatArray
    intervals: list[str]
    expected_count: NDArray[np.int64]
    actual_count: NDArray[np.int64]
    expected_percentage: FloatArray
    actual_percentage: FloatArray
    psi: FloatArray
    total_psi: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe builtins (for plotting: ``intervals`` against the two percentages)."""
        return {
            "total_psi": self.total_psi,
            "split_points": [float(v) for v in self.split_points],
            "intervals": list(self.intervals),
            "expected_count": [int(v) for v in self.expected_count],
            "actual_count": [int(v) for v in self.actual_count],
            "expected_percentage": [float(v) for v in self.expected_percentage],
            "actual_percentage": [float(v) for v in self.actual_percentage],
            "psi": [float(v) for v in self.psi],
        }


def quantile_split_points(values: ArrayLike, max_bin_num: int = 20) -> FloatArray:
    """Ascending split points of ``values`` (NaN ignored) for at most ``max_bin_num`` bins."""
    array = as_1d_float_array(values, "values")
    _check_bins(max_bin_num)
    if np.any(np.isinf(array)):
        raise ValueError("values must not be infinite (NaN marks a missing value)")
    present = np.sort(array[~np.isnan(array)])
    if present.size == 0:
        return np.empty(0, dtype=np.float64)
    levels = np.arange(1, max_bin_num) / max_bin_num
    ranks = np.ceil(levels * present.size).astype(np.int64)
    points = np.unique(present[np.clip(ranks, 1, present.size) - 1])
    kept: FloatArray = points[points < present[-1]].copy()
    return kept


def population_stability(
    expected: ArrayLike,
    actual: ArrayLike,
    max_bin_num: int = 20,
    split_points: ArrayLike | None = None,
) -> StabilityReport:
    """The PSI of ``actual`` against ``expected`` (NaN = missing), binned on ``expected``'s
    quantiles or on the given ascending ``split_points``."""
    exp = as_1d_float_array(expected, "expected")
    act = as_1d_float_array(actual, "actual")
    for array, name in ((exp, "expected"), (act, "actual")):
        if np.any(np.isinf(array)):
            raise ValueError(f"{name} must not be infinite (NaN marks a missing value)")
    if split_points is None:
        points = quantile_split_points(exp, max_bin_num)
    else:
        points = np.asarray(split_points, dtype=np.float64).reshape(-1)
        if np.any(np.diff(points) <= 0) or not np.all(np.isfinite(points)):
            raise ValueError("split_points must be finite and strictly ascending")
    with_missing = bool(np.isnan(exp).any() or np.isnan(act).any())
    exp_count = _counts(exp, points, with_missing)
    act_count = _counts(act, points, with_missing)
    exp_share = exp_count / exp.size
    act_share = act_count / act.size
    e = np.where(exp_share == 0, ADJUST_VALUE, exp_share)
    a = np.where(act_share == 0, ADJUST_VALUE, act_share)
    psi = (a - e) * np.log(a / e)
    return StabilityReport(
        split_points=points,
        intervals=_intervals(points, with_missing),
        expected_count=exp_count,
        actual_count=act_count,
        expected_percentage=exp_share,
        actual_percentage=act_share,
        psi=psi,
        total_psi=float(psi.sum()),
    )


def _counts(values: FloatArray, points: FloatArray, with_missing: bool) -> NDArray[np.int64]:
    missing = np.isnan(values)
    bins = np.searchsorted(points, values[~missing], side="left")
    counts = np.bincount(bins, minlength=points.size + 1).astype(np.int64)
    if with_missing:
        counts = np.append(counts, np.int64(missing.sum()))
    return counts


def _intervals(points: FloatArray, with_missing: bool) -> list[str]:
    edges = ["-inf", *(format(float(p), ".6g") for p in points), "+inf"]
    labels = [f"({lo}, {hi}]" for lo, hi in pairwise(edges)]
    labels[-1] = f"({edges[-2]}, +inf)"
    return [*labels, MISSING] if with_missing else labels


def _check_bins(max_bin_num: int) -> None:
    if isinstance(max_bin_num, bool) or not isinstance(max_bin_num, int) or max_bin_num < 1:
        raise ValueError(f"max_bin_num must be a positive integer; got {max_bin_num!r}")
