"""Weight of evidence and information value from per-bin event / non-event counts (FATE 1.x).

For bin i with event count e_i and non-event count n_i out of totals E and N:
``event_rate_i = e_i / E``, ``non_event_rate_i = n_i / N``, ``woe_i = ln(event_rate_i /
non_event_rate_i)``, ``iv_i = (event_rate_i − non_event_rate_i)·woe_i`` and ``iv = Σ iv_i``.
A bin without events or without non-events would give an infinite WOE; as in FATE both of its
counts are then raised by ``adjustment_factor`` (default 0.5) before the rates are taken.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def woe_iv(events: ArrayLike, non_events: ArrayLike, adjustment_factor: float) -> dict[str, Any]:
    """FATE's per-feature statistics: counts, rates, WOE, IV per bin, total IV, monotonicity."""
    e = np.asarray(events, dtype=np.float64).reshape(-1)
    n = np.asarray(non_events, dtype=np.float64).reshape(-1)
    if e.shape != n.shape:
        raise ValueError("event and non-event counts differ in length")
    e_total, n_total = max(float(e.sum()), 1.0), max(float(n.sum()), 1.0)
    empty = (e == 0) | (n == 0)
    adjust = np.where(empty, adjustment_factor, 0.0)
    event_rate = (e + adjust) / e_total
    non_event_rate = (n + adjust) / n_total
    woe = np.log(event_rate / non_event_rate)
    iv = (event_rate - non_event_rate) * woe
    return {
        "event_count_array": [int(v) for v in e.tolist()],
        "non_event_count_array": [int(v) for v in n.tolist()],
        "event_rate_array": (e / e_total).tolist(),
        "non_event_rate_array": (n / n_total).tolist(),
        "woe_array": woe.tolist(),
        "iv_array": iv.tolist(),
        "iv": float(iv.sum()),
        "is_woe_monotonic": is_monotonic(woe.tolist()),
        "bin_nums": int(e.size),
    }


def is_monotonic(values: list[float]) -> bool:
    """True if the values never decrease or never increase (a single bin counts as both)."""
    pairs = list(itertools.pairwise(values))
    return all(a <= b for a, b in pairs) or all(a >= b for a, b in pairs)


def class_counts(bins: ArrayLike, labels: ArrayLike, classes: list[float], size: int) -> Any:
    """Per class c, the (event, non-event) counts of ``label == c`` over ``size`` bins."""
    index = np.asarray(bins, dtype=np.int64)
    y = np.asarray(labels, dtype=np.float64)
    total = np.bincount(index, minlength=size)
    out = []
    for c in classes:
        events = np.bincount(index, weights=(y == c).astype(np.float64), minlength=size)
        events = np.rint(events).astype(np.int64)
        out.append((events, total - events))
    return out
