"""Mini-batches of an epoch: the guest draws them, hosts check what they are sent.

``batch_strategy="full"`` covers every row once per epoch in batches of ``batch_size``
(shuffled when ``shuffle``); ``"random"`` (FATE's random strategy) trains each epoch on one
batch of ``batch_size`` distinct rows drawn at random. With ``masked_rate`` r > 0 the random
batch hides which rows train: the guest adds ``min(rows − b, round(r·b))`` more random rows
to the ``b`` it trains on and sends hosts all of them in row order; the residual of an added
row is a fresh encryption of 0, so it adds nothing to any gradient, and every party divides
by ``b``.

A host learns the plaintext gradient ``X_bᵀ·d`` of each batch; with no more rows in a batch
than it has features it could solve that for the residuals ``d`` and so for the labels. The
guest therefore refuses any batch that is not larger than every host's feature count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fedloom.federation import FederationError, PartyHandle
from fedloom.ml.glm._common import row_sets
from fedloom.ml.glm.params import HeteroLRParam

Batch = NDArray[np.int64]


def make_batches(rows: int, batch_size: int, rng: np.random.Generator | None) -> list[Batch]:
    """Row indices of each mini-batch of one epoch (shuffled when ``rng`` is given)."""
    order = rng.permutation(rows) if rng is not None else np.arange(rows)
    size = rows if batch_size == -1 else min(batch_size, rows)
    return [order[i : i + size].astype(np.int64) for i in range(0, rows, size)]


def batch_rng(param: HeteroLRParam) -> np.random.Generator | None:
    """The guest's generator of batch orders (None: rows in order)."""
    if param.shuffle or param.batch_strategy == "random":
        return np.random.default_rng(param.init_param.random_seed)
    return None


@dataclass(frozen=True)
class EpochBatch:
    """One batch: the rows hosts are sent, and which of them train (None: all)."""

    rows: Batch
    real: Batch | None = None

    @property
    def trained(self) -> Batch:
        """The rows that train."""
        return self.rows if self.real is None else self.rows[self.real]


def masked_rows(param: HeteroLRParam, rows: int) -> int:
    """How many masking rows a random batch adds (0 for the full strategy)."""
    if param.batch_strategy != "random":
        return 0
    size = min(param.batch_size, rows)
    return min(rows - size, round(param.masked_rate * size))


def training_rows(param: HeteroLRParam, rows: int, sent: int) -> int:
    """How many of the ``sent`` rows of a batch train."""
    return min(param.batch_size, rows) if param.batch_strategy == "random" else sent


def draw_epoch(
    param: HeteroLRParam, rows: int, rng: np.random.Generator | None
) -> list[EpochBatch]:
    """The guest's batches of one epoch under ``param``'s strategy."""
    if param.batch_strategy != "random":
        return [EpochBatch(b) for b in make_batches(rows, param.batch_size, rng)]
    assert rng is not None  # batch_rng always makes one for the random strategy
    real = rng.choice(rows, size=min(param.batch_size, rows), replace=False)
    extra = masked_rows(param, rows)
    if not extra:
        return [EpochBatch(np.sort(real).astype(np.int64))]
    others = np.setdiff1d(np.arange(rows), real)
    sent = np.sort(np.concatenate([real, rng.choice(others, size=extra, replace=False)]))
    return [EpochBatch(sent.astype(np.int64), np.flatnonzero(np.isin(sent, real)))]


def epoch_batches(param: HeteroLRParam, rows: int, rng: np.random.Generator | None) -> list[Batch]:
    """The training rows of each batch of one epoch (what a plaintext reference trains on)."""
    return [b.trained for b in draw_epoch(param, rows, rng)]


def smallest_batch(param: HeteroLRParam, rows: int) -> int:
    """The fewest rows any batch of an epoch has."""
    if param.batch_size == -1 or param.batch_size >= rows:
        return rows
    if param.batch_strategy == "random":
        return param.batch_size
    return rows % param.batch_size or param.batch_size


def check_batch_safety(param: HeteroLRParam, rows: int, host_widths: list[int]) -> None:
    """Refuse batches a host could solve for the residuals (no more rows than its features)."""
    widest = max(host_widths, default=0)
    smallest = smallest_batch(param, rows)
    if smallest <= widest:
        raise ValueError(
            f"a batch of {smallest} rows is too small: a host with {widest} features could "
            f"solve its gradient for the residuals (and so the labels); every batch needs more "
            f"than {widest} rows (batch_size {param.batch_size}, {rows} rows)"
        )


def check_sample_safety(sample_size: int, rows: int, host_widths: list[int]) -> None:
    """Refuse SQN Hessian samples a host could solve for ``c·X·s`` (as for batches)."""
    widest, size = max(host_widths, default=0), min(sample_size, rows)
    if size <= widest:
        raise ValueError(
            f"sqn_param.sample_size gives samples of {size} rows: a host with {widest} "
            f"features could solve its Hessian product for the guest's share; use more rows"
        )


def check_batches(value: object, rows: int, param: HeteroLRParam, peer: PartyHandle) -> list[Batch]:
    """The batches the guest sent, checked against this host's rows and ``param``'s strategy."""
    batches, seen = row_sets(value, rows, "batches", peer)
    if param.batch_strategy == "random":
        expected = min(param.batch_size, rows) + masked_rows(param, rows)
        if len(batches) != 1 or int(seen.sum()) != expected or seen.max(initial=0) > 1:
            raise FederationError(
                f"{peer.party} sent a random batch that is not {expected} distinct rows"
            )
    elif not np.all(seen == 1):
        raise FederationError(f"{peer.party} sent batches that do not cover each row once")
    return batches
