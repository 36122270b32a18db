"""The feature filters of HeteroFeatureSelection as pure functions: numbers in, choices out.

Columns are named; a filter returns the names it keeps (and the values it judged by). NaN
values (an undefined statistic) never pass a threshold and rank last.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]


def unique_value(x: Matrix, eps: float) -> tuple[NDArray[np.bool_], Matrix]:
    """Keep columns whose non-missing values span at least ``eps`` (max − min); the spans."""
    spans = np.full(x.shape[1], np.nan)
    for j in range(x.shape[1]):
        col = x[~np.isnan(x[:, j]), j]
        if col.size:
            spans[j] = float(col.max() - col.min())
    keep = ~np.isnan(spans) & (spans >= eps)
    if eps == 0:
        keep &= spans > 0
    return keep, spans


def percentage_value(x: Matrix, upper_pct: float) -> tuple[NDArray[np.bool_], Matrix]:
    """Keep columns whose most frequent value (missing counts as a value) fills at most
    ``upper_pct`` of the rows; the shares."""
    shares = np.zeros(x.shape[1])
    rows = x.shape[0]
    for j in range(x.shape[1]):
        col = x[:, j]
        missing = int(np.isnan(col).sum())
        _, counts = np.unique(col[~np.isnan(col)], return_counts=True)
        top = max(int(counts.max()) if counts.size else 0, missing)
        shares[j] = top / rows if rows else 0.0
    return shares <= upper_pct, shares


def by_rule(
    values: Mapping[str, float],
    filter_type: str,
    threshold: float,
    take_high: bool,
    limits: Mapping[str, float] | None = None,
) -> list[str]:
    """The names ``filter_type`` keeps, in the order of ``values``.

    ``threshold``: value ≥ limit (``take_high``) or ≤ limit, where a name's limit is
    ``limits[name]`` if given (a host's threshold) else ``threshold``; ``top_k``: the
    ``threshold`` best; ``top_percentile``: the best ``ceil(threshold · n)``.
    """
    names = list(values)
    if filter_type == "threshold":
        kept = []
        for name in names:
            limit = (limits or {}).get(name, threshold)
            value = values[name]
            if not math.isnan(value) and (value >= limit if take_high else value <= limit):
                kept.append(name)
        return kept
    if filter_type == "top_k":
        count = int(threshold)
    elif filter_type == "top_percentile":
        count = math.ceil(threshold * len(names) - 1e-9)
    else:
        raise ValueError(f"unknown filter_type {filter_type!r}")
    ranked = sorted(
        range(len(names)),
        key=lambda k: (
            math.isnan(values[names[k]]),
            -values[names[k]] if take_high else values[names[k]],
            k,
        ),
    )
    chosen = {names[k] for k in ranked[:count] if not math.isnan(values[names[k]])}
    return [name for name in names if name in chosen]


def correlation_filter(
    order: list[str],
    corr: Callable[[str, str], float | None],
    threshold: float,
    removable: set[str],
) -> list[str]:
    """Greedy decorrelation: in ``order`` (best first), a feature of ``removable`` is dropped
    when its |r| with an already kept feature exceeds ``threshold`` (``corr`` returns None
    for pairs whose correlation is unknown); returns the kept names in ``order``."""
    kept: list[str] = []
    for name in order:
        if name in removable:
            for other in kept:
                r = corr(name, other)
                if r is not None and not math.isnan(r) and abs(r) > threshold:
                    break
            else:
                kept.append(name)
        else:
            kept.append(name)
    return kept
