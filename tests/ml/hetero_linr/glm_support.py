"""Regression data for the HeteroLinR and HeteroPoisson tests (the runner and the plaintext
reference are HeteroLR's, ``tests/ml/hetero_lr/lr_support.py``, with a family)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def make_regression(
    rows: int = 120,
    guest_cols: int = 3,
    host_cols: tuple[int, ...] = (4,),
    seed: int = 7,
    poisson: bool = False,
) -> tuple[Array, Array, list[Array], Array]:
    """(guest x, y, host xs, exposure): linear targets, or Poisson counts with exposure."""
    rng = np.random.default_rng(seed)
    total = guest_cols + sum(host_cols)
    x = rng.normal(size=(rows, total))
    w = rng.normal(size=total)
    exposure = rng.uniform(0.5, 2.0, size=rows)
    if poisson:
        y = rng.poisson(exposure * np.exp(0.3 * (x @ w) / np.sqrt(total))).astype(np.float64)
    else:
        y = x @ w + 0.1 * rng.normal(size=rows)
    parts, start = [], guest_cols
    for width in host_cols:
        parts.append(x[:, start : start + width])
        start += width
    return x[:, :guest_cols], y, parts, exposure
