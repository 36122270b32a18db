"""Optimal binning: merge a column's initial buckets, by their labels, into ``bin_num`` bins.

The buckets are merged only with neighbours (bins stay intervals). First, when ``mixture`` or
``min_bin_pct`` asks for it, the smallest bin breaking a constraint (fewer than
``min_bin_pct`` of the rows, or with ``mixture`` no event or no non-event) is merged into the
neighbour that serves the metric best; then, while more than ``bin_num`` bins remain, the
neighbouring pair whose merge serves the metric best is merged, never making a bin of more than
``max_bin_pct`` of the rows:

- ``iv``: the merge losing the least information value;
- ``gini``: the merge raising the rows' weighted Gini impurity least;
- ``chi_square``: the pair whose 2×2 table has the smallest χ² (ChiMerge);
- ``ks``: the cut whose cumulative event/non-event rate difference is smallest (the KS
  statistic, the largest such difference, is never lost).

Only the guest runs this (it needs the labels); for a host column it sees the encrypted
per-bucket sums the host returns, and sends back which buckets to merge.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fedloom.ml.feature_binning.params import OptimalConfig

Vector = NDArray[np.float64]


def _iv_part(e: Vector, n: Vector, e_total: float, n_total: float, adjust: float) -> Vector:
    extra = np.where((e == 0) | (n == 0), adjust, 0.0)
    er, nr = (e + extra) / e_total, (n + extra) / n_total
    return np.asarray((er - nr) * np.log(er / nr), dtype=np.float64)


def _gini(e: Vector, n: Vector) -> Vector:
    count = e + n
    safe = np.maximum(count, 1.0)
    return np.asarray(count * (1 - (e / safe) ** 2 - (n / safe) ** 2), dtype=np.float64)


def _chi2(e: Vector, n: Vector) -> Vector:
    """χ² of each neighbouring pair's 2×2 table (bins × event / non-event)."""
    e1, e2, n1, n2 = e[:-1], e[1:], n[:-1], n[1:]
    total = e1 + e2 + n1 + n2
    out = np.zeros(e1.size)
    for a, b, row in ((e1, n1, e1 + n1), (e2, n2, e2 + n2)):
        for observed, column in ((a, e1 + e2), (b, n1 + n2)):
            expected = row * column / np.maximum(total, 1.0)
            out += np.where(
                expected > 0, (observed - expected) ** 2 / np.maximum(expected, 1e-12), 0
            )
    return out


def _pair_costs(e: Vector, n: Vector, metric: str, adjust: float) -> Vector:
    """Cost of merging each neighbouring pair (lower is better)."""
    e_total, n_total = max(float(e.sum()), 1.0), max(float(n.sum()), 1.0)
    if metric == "iv":
        parts = _iv_part(e, n, e_total, n_total, adjust)
        merged = _iv_part(e[:-1] + e[1:], n[:-1] + n[1:], e_total, n_total, adjust)
        return np.asarray(parts[:-1] + parts[1:] - merged, dtype=np.float64)
    if metric == "gini":
        parts = _gini(e, n)
        return np.asarray(_gini(e[:-1] + e[1:], n[:-1] + n[1:]) - parts[:-1] - parts[1:])
    if metric == "chi_square":
        return _chi2(e, n)
    cum = np.abs(np.cumsum(e)[:-1] / e_total - np.cumsum(n)[:-1] / n_total)
    return np.asarray(cum, dtype=np.float64)


def optimal_ends(
    events: ArrayLike,
    non_events: ArrayLike,
    config: OptimalConfig,
    bin_num: int,
    adjustment_factor: float = 0.5,
) -> list[int]:
    """The last initial bucket of each merged bin (ascending), for the buckets' counts."""
    e = np.asarray(events, dtype=np.float64).copy()
    n = np.asarray(non_events, dtype=np.float64).copy()
    ends = list(range(e.size))
    total = max(float(e.sum() + n.sum()), 1.0)
    max_count = config.max_bin_pct * total

    def merge(i: int) -> None:  # bins i and i + 1
        nonlocal e, n
        e[i] += e[i + 1]
        n[i] += n[i + 1]
        e, n = np.delete(e, i + 1), np.delete(n, i + 1)
        del ends[i]

    def bad() -> NDArray[np.bool_]:
        count = e + n
        broken = count < config.min_bin_pct * total
        if config.mixture:
            broken |= (e == 0) | (n == 0)
        return np.asarray(broken)

    while e.size > 1 and np.any(broken := bad()):
        count = e + n
        worst = int(np.flatnonzero(broken)[np.argmin(count[broken])])
        costs = _pair_costs(e, n, config.metric_method, adjustment_factor)
        options = [i for i in (worst - 1, worst) if 0 <= i < e.size - 1]
        merge(min(options, key=lambda i: float(costs[i])))
    while e.size > bin_num:
        costs = _pair_costs(e, n, config.metric_method, adjustment_factor)
        size = (e + n)[:-1] + (e + n)[1:]
        costs = np.where(size <= max_count, costs, np.inf)
        if not np.any(np.isfinite(costs)):
            break
        merge(int(np.argmin(costs)))
    return ends
