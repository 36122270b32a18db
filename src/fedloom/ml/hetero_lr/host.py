"""HeteroLR at a host: holds features only, sends its encrypted forward, owns its weights."""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fedloom.crypto import PublicKey
from fedloom.federation import Context, FederationError
from fedloom.ml.hetero_lr._common import (
    HeteroLRModel,
    check_features,
    check_topology,
    end_epoch,
    exchange_gradient,
    expect,
    expect_cipher,
    receive_public_key,
)
from fedloom.ml.hetero_lr.optimizer import Optimizer, initial_weights
from fedloom.ml.hetero_lr.params import HeteroLRParam


def _check_batches(value: object, rows: int, ctx: Context) -> list[NDArray[np.int64]]:
    batches = expect(value, list, "batches", ctx.guest)
    seen = 0
    for batch in batches:
        if not isinstance(batch, np.ndarray) or batch.dtype.kind not in "iu" or batch.ndim != 1:
            raise FederationError(f"{ctx.guest.party} sent a malformed batch index")
        if batch.size and (batch.min() < 0 or batch.max() >= rows):
            raise FederationError(f"{ctx.guest.party} sent batch indices outside 0..{rows - 1}")
        seen += batch.size
    if seen != rows:
        raise FederationError(f"{ctx.guest.party} sent batches covering {seen} of {rows} rows")
    return [b.astype(np.int64) for b in batches]


class HeteroLRHost:
    """A host's side of fit and predict."""

    def __init__(self, param: HeteroLRParam | None = None, *, masking: bool = True) -> None:
        self.param = param or HeteroLRParam()
        self.masking = masking
        self.model: HeteroLRModel | None = None

    def fit(self, ctx: Context, x: ArrayLike) -> HeteroLRModel:
        """Train on the aligned rows ``x`` (this host's features, same row order as the guest)."""
        param = self.param
        check_topology(ctx, param)
        features = check_features(x, "host features")
        rows, width = features.shape
        fit_ctx = ctx.sub("fit")
        key = receive_public_key(fit_ctx, param.encrypt_param.backend)
        fit_ctx.guest.put("n_rows", rows)
        host_index = ctx.parties.hosts.index(ctx.local)
        coef = initial_weights(param, width, seed_offset=1 + host_index)
        optimizer = Optimizer(param, width, np.ones(width, dtype=bool))
        model = HeteroLRModel("host", coef)
        for epoch, it_ctx in fit_ctx.iterations(param.max_iter):
            batches = _check_batches(it_ctx.guest.get("batches"), rows, it_ctx)
            previous, started = coef.copy(), time.perf_counter()
            batch_ctxs = it_ctx.batches(len(batches))
            for i, ((_, b_ctx), idx) in enumerate(zip(batch_ctxs, batches, strict=True)):
                more = epoch < param.max_iter - 1 or i < len(batches) - 1
                coef = self._batch(b_ctx, key, features[idx], coef, optimizer, epoch, more)
            if end_epoch(it_ctx, param, model, coef - previous, started):
                break
        model.weights = coef.copy()
        self.model = model
        return model

    def _batch(
        self,
        ctx: Context,
        key: PublicKey,
        x: NDArray[np.float64],
        coef: NDArray[np.float64],
        optimizer: Optimizer,
        epoch: int,
        more: bool,
    ) -> NDArray[np.float64]:
        param, rows = self.param, x.shape[0]
        z_host = x @ coef
        ctx.guest.put("forward", key.encrypt(z_host))
        if param.needs_loss:
            ctx.guest.put("forward_square", key.encrypt(z_host * z_host))
            ctx.guest.put("penalty", key.encrypt(optimizer.penalty_loss(coef)))
        # While the guest works, get the randomness of the next batch's encryptions ready.
        if more:
            key.prefetch_randomness(rows * (2 if param.needs_loss else 1))
        residual = expect_cipher(ctx.guest.get("residual"), key, rows, "residual", ctx.guest)
        gradient = exchange_gradient(
            ctx, key, residual.dot(x, param.feature_frac_bits), self.masking
        )
        return optimizer.step(coef, gradient / rows, epoch)

    def predict(self, ctx: Context, x: ArrayLike, model: HeteroLRModel | None = None) -> None:
        """Send this host's partial scores ``x·w`` to the guest; the host learns no result."""
        model = model or self.model
        if model is None:
            raise ValueError("predict needs a fitted or loaded model")
        features = check_features(x, "host features")
        if features.shape[1] != model.weights.size:
            raise ValueError(
                f"host features have {features.shape[1]} columns, the model {model.weights.size}"
            )
        ctx.sub("predict").guest.put("partial_score", features @ model.weights)
