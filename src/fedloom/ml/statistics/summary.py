"""Per-column statistics over the non-missing cells of a matrix, as FATE's DataStatistics.

A cell is missing when it is NaN or equal to one of the ``abnormal`` values. Every statistic
is computed over a column's remaining cells:

- ``count``: non-missing cells; ``missing_count`` / ``missing_ratio``: missing cells (of all
  rows); ``sum``, ``mean``, ``min``, ``max``;
- ``variance`` and ``stddev``: population moments (divided by the count, as FATE's summary);
  ``coefficient_of_variance``: stddev / mean;
- ``skewness`` and ``kurtosis`` (excess, Fisher): scipy's definitions; with ``bias`` False
  both are corrected for statistical bias (scipy's ``bias=False``);
- ``median`` and percentiles (``"95%"``): exact order statistics (the smallest value whose
  empirical CDF reaches q, numpy's ``inverted_cdf``), i.e. within any ``quantile_error``.

A statistic undefined for a column (no values, a constant column's skewness) is NaN.
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]

LEGAL_STATISTICS: tuple[str, ...] = (
    "count",
    "sum",
    "mean",
    "stddev",
    "median",
    "min",
    "max",
    "variance",
    "coefficient_of_variance",
    "missing_count",
    "missing_ratio",
    "skewness",
    "kurtosis",
)
"""FATE's statistic names ("summary" means all of them)."""

_PERCENTILE = re.compile(r"(100(\.0+)?|\d{1,2}(\.\d+)?)%")


def is_percentile(name: str) -> bool:
    """True for a percentile name such as ``"95%"`` or ``"2.5%"``."""
    return _PERCENTILE.fullmatch(name) is not None


def percentile_of(name: str) -> float:
    """The quantile (0..1) a percentile name stands for."""
    if not is_percentile(name):
        raise ValueError(f"{name!r} is not a percentile such as '95%'")
    return float(name[:-1]) / 100.0


def missing_mask(x: Matrix, abnormal: list[float]) -> NDArray[np.bool_]:
    """True where a cell is NaN or one of the ``abnormal`` values."""
    mask = np.isnan(x)
    for value in abnormal:
        mask |= x == value
    return mask


def column_statistics(
    x: Matrix, names: list[str], abnormal: list[float] | None = None, bias: bool = True
) -> dict[str, Matrix]:
    """Each statistic of ``names`` (FATE names or percentiles) → one value per column."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"statistics need a 2-D matrix, got shape {x.shape}")
    missing = missing_mask(x, list(abnormal or []))
    columns = [x[~missing[:, j], j] for j in range(x.shape[1])]
    out: dict[str, Matrix] = {}
    for name in names:
        values = [
            _one(name, col, int(missing[:, j].sum()), x.shape[0], bias)
            for j, col in enumerate(columns)
        ]
        out[name] = np.asarray(values, dtype=np.float64)
    return out


def _one(name: str, col: Matrix, missing: int, rows: int, bias: bool) -> float:
    n = col.size
    if name == "count":
        return float(n)
    if name == "missing_count":
        return float(missing)
    if name == "missing_ratio":
        return missing / rows if rows else float("nan")
    if n == 0:
        return float("nan")
    if name == "sum":
        return float(col.sum())
    if name == "min":
        return float(col.min())
    if name == "max":
        return float(col.max())
    mean = float(col.mean())
    if name == "mean":
        return mean
    if name == "median":
        return _quantile(col, 0.5)
    if is_percentile(name):
        return _quantile(col, percentile_of(name))
    centred = col - mean
    variance = float(np.mean(centred**2))
    if name == "variance":
        return variance
    if name == "stddev":
        return float(np.sqrt(variance))
    if name == "coefficient_of_variance":
        return float(np.sqrt(variance)) / mean if mean != 0 else float("nan")
    if name == "skewness":
        return _skewness(centred, variance, bias)
    if name == "kurtosis":
        return _kurtosis(centred, variance, bias)
    raise ValueError(f"unknown statistic {name!r}")


def _quantile(col: Matrix, q: float) -> float:
    return float(np.quantile(col, q, method="inverted_cdf"))


def _skewness(centred: Matrix, m2: float, bias: bool) -> float:
    n = centred.size
    if m2 <= 0.0:
        return float("nan")
    g1: float = float(np.mean(centred**3)) / float(m2**1.5)
    if bias:
        return g1
    if n < 3:
        return float("nan")
    return float(g1 * np.sqrt(n * (n - 1.0)) / (n - 2.0))


def _kurtosis(centred: Matrix, m2: float, bias: bool) -> float:
    n = centred.size
    if m2 <= 0.0:
        return float("nan")
    g2 = float(np.mean(centred**4)) / m2**2 - 3.0
    if bias:
        return g2
    if n < 4:
        return float("nan")
    return float(((n + 1.0) * g2 + 6.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0)))
