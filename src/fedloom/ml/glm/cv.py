"""Cross-validation folds of the aligned rows: the guest draws them, hosts check them.

Folds are FATE's ``KFold`` split: the rows (shuffled with ``random_seed`` when ``shuffle``) cut
into ``n_splits`` parts of near-equal size; fold ``k`` validates on part ``k`` and trains on
the others. The guest sends hosts the validation rows of each fold (row positions only).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from fedloom.federation import Context, FederationError
from fedloom.ml.glm._common import row_sets

Fold = NDArray[np.int64]


def kfold(rows: int, n_splits: int, shuffle: bool, seed: int | None) -> list[Fold]:
    """The validation rows of each of ``n_splits`` folds (sorted within a fold)."""
    if not 2 <= n_splits <= rows:
        raise ValueError(f"cross validation needs 2 to {rows} folds (the rows), got {n_splits}")
    order = np.random.default_rng(seed).permutation(rows) if shuffle else np.arange(rows)
    return [np.sort(part).astype(np.int64) for part in np.array_split(order, n_splits)]


def train_rows(folds: list[Fold], k: int, rows: int) -> Fold:
    """The training rows of fold ``k``: every row not in its validation part."""
    keep = np.ones(rows, dtype=bool)
    keep[folds[k]] = False
    return np.flatnonzero(keep).astype(np.int64)


def send_folds(ctx: Context, folds: list[Fold]) -> None:
    """Guest: send the hosts each fold's validation rows."""
    ctx.hosts.put("folds", folds)


def receive_folds(ctx: Context, rows: int, n_splits: int) -> list[Fold]:
    """Host: the guest's folds, checked to split this host's ``rows`` into ``n_splits``."""
    folds, seen = row_sets(ctx.guest.get("folds"), rows, "folds", ctx.guest)
    if len(folds) != n_splits or not np.all(seen == 1):
        raise FederationError(
            f"{ctx.guest.party} sent folds that are not {n_splits} parts holding each row once"
        )
    return folds
