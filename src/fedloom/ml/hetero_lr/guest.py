"""HeteroLR at the guest: holds the labels, forms the encrypted residual, owns the intercept."""

from __future__ import annotations

import math
import time

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fedloom.crypto import CipherVector, PublicKey
from fedloom.federation import Context
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

_LOG2 = math.log(2.0)


def _check_labels(y: ArrayLike, rows: int) -> NDArray[np.float64]:
    labels = np.asarray(y, dtype=np.float64).reshape(-1)
    if labels.size != rows:
        raise ValueError(f"labels have {labels.size} rows, features have {rows}")
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        raise ValueError(f"label[{int(bad[0])}] is {labels[bad[0]]}; binary labels must be 0 or 1")
    return labels


def make_batches(
    rows: int, batch_size: int, rng: np.random.Generator | None
) -> list[NDArray[np.int64]]:
    """Row indices of each mini-batch of one epoch (shuffled when ``rng`` is given)."""
    order = rng.permutation(rows) if rng is not None else np.arange(rows)
    size = rows if batch_size == -1 else min(batch_size, rows)
    return [order[i : i + size].astype(np.int64) for i in range(0, rows, size)]


class HeteroLRGuest:
    """The guest's side of fit and predict."""

    def __init__(self, param: HeteroLRParam | None = None, *, masking: bool = True) -> None:
        self.param = param or HeteroLRParam()
        self.masking = masking
        self.model: HeteroLRModel | None = None

    def fit(self, ctx: Context, x: ArrayLike, y: ArrayLike) -> HeteroLRModel:
        """Train on the aligned rows ``x`` (guest features) with labels ``y``."""
        param = self.param
        check_topology(ctx, param)
        features = check_features(x, "guest features")
        labels = _check_labels(y, features.shape[0])
        rows, width = features.shape
        fit_ctx = ctx.sub("fit")
        key = receive_public_key(fit_ctx, param.encrypt_param.backend)
        for host, count in zip(fit_ctx.hosts, fit_ctx.hosts.get("n_rows"), strict=True):
            if expect(count, int, "n_rows", host) != rows:
                raise ValueError(f"{host.party} has {count} aligned rows, the guest has {rows}")

        intercept = param.init_param.fit_intercept
        design = np.hstack([features, np.ones((rows, 1))]) if intercept else features
        coef = initial_weights(param, design.shape[1])
        if intercept:
            coef[-1] = 0.0 if param.init_param.init_method != "const" else coef[-1]
        penalised = np.array([True] * width + ([False] if intercept else []))
        optimizer = Optimizer(param, design.shape[1], penalised)
        seed = param.init_param.random_seed
        rng = np.random.default_rng(seed) if param.shuffle else None
        signed = 2.0 * labels - 1.0

        model = HeteroLRModel("guest", coef[:width], float(coef[-1]) if intercept else 0.0)
        for epoch, it_ctx in fit_ctx.iterations(param.max_iter):
            batches = make_batches(rows, param.batch_size, rng)
            it_ctx.hosts.put("batches", batches)
            it_ctx.arbiter.put("batch_sizes", [int(b.size) for b in batches])
            previous, started = coef.copy(), time.perf_counter()
            batch_ctxs = it_ctx.batches(len(batches))
            for i, ((_, b_ctx), idx) in enumerate(zip(batch_ctxs, batches, strict=True)):
                more = epoch < param.max_iter - 1 or i < len(batches) - 1
                coef = self._batch(
                    b_ctx, key, design[idx], labels[idx], signed[idx], coef, optimizer, epoch, more
                )
            if end_epoch(it_ctx, param, model, coef - previous, started):
                break
        model.weights = coef[:width].copy()
        model.intercept = float(coef[-1]) if intercept else 0.0
        self.model = model
        return model

    def _batch(
        self,
        ctx: Context,
        key: PublicKey,
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        signed: NDArray[np.float64],
        coef: NDArray[np.float64],
        optimizer: Optimizer,
        epoch: int,
        more: bool,
    ) -> NDArray[np.float64]:
        param, rows = self.param, x.shape[0]
        z_guest = x @ coef
        forwards = [
            expect_cipher(v, key, rows, "forward", h)
            for h, v in zip(ctx.hosts, ctx.hosts.get("forward"), strict=True)
        ]
        z_hosts = forwards[0]
        for other in forwards[1:]:
            z_hosts = z_hosts + other
        # Residual of the Taylor-approximated logistic loss: d = 0.25·z + 0.5 − y. Fresh
        # randomness is essential: the host could otherwise strip its own forward and read y.
        residual = (z_hosts.mul(0.25, frac_bits=2) + (0.25 * z_guest + 0.5 - y)).rerandomize()
        ctx.hosts.put("residual", residual)
        if more:
            key.prefetch_randomness(rows)
        gradient = exchange_gradient(
            ctx, key, residual.dot(x, param.feature_frac_bits), self.masking
        )
        if param.needs_loss:
            host = ctx.hosts[0]
            square = expect_cipher(host.get("forward_square"), key, rows, "forward_square", host)
            host_penalty = expect_cipher(host.get("penalty"), key, 1, "penalty", host)
            # Σ log2 − ½·y'z + ⅛·z², z = z_g + z_h, expanded so only z_h is encrypted.
            cross = z_hosts.dot((0.25 * z_guest - 0.5 * signed)[:, None])
            plain = rows * _LOG2 - 0.5 * float(signed @ z_guest) + 0.125 * float(z_guest @ z_guest)
            data_loss = cross + square.sum().mul(0.125, frac_bits=3) + plain
            penalty = host_penalty + optimizer.penalty_loss(coef)
            ctx.arbiter.put("loss", CipherVector.concat([data_loss, penalty]).rerandomize())
        return optimizer.step(coef, gradient / rows, epoch)

    def predict(
        self, ctx: Context, x: ArrayLike, model: HeteroLRModel | None = None
    ) -> NDArray[np.float64]:
        """Probabilities of class 1 for aligned rows; hosts contribute partial scores only."""
        model = model or self.model
        if model is None:
            raise ValueError("predict needs a fitted or loaded model")
        features = check_features(x, "guest features")
        if features.shape[1] != model.weights.size:
            raise ValueError(
                f"guest features have {features.shape[1]} columns, the model {model.weights.size}"
            )
        p_ctx = ctx.sub("predict")
        z = features @ model.weights + model.intercept
        for host, part in zip(p_ctx.hosts, p_ctx.hosts.get("partial_score"), strict=True):
            scores = expect(part, np.ndarray, "partial_score", host)
            if scores.shape != z.shape:
                raise ValueError(f"{host.party} scored {scores.shape[0]} rows, the guest {z.size}")
            z = z + scores
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)
