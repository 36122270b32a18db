"""A GLM at a host: holds features only, sends its encrypted forward, owns its weights.

What the host encrypts per batch is its family's (:meth:`.family.Family.host_values`).
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fedloom.crypto import PublicKey
from fedloom.federation import Context
from fedloom.ml.glm._common import (
    HeteroLRModel,
    check_features,
    check_topology,
    end_epoch,
    exchange_gradient,
    expect_cipher,
    receive_public_key,
    receive_setup,
    send_partial_scores,
    warm_weights,
)
from fedloom.ml.glm._party import GlmParty
from fedloom.ml.glm._validate import PeerValidation
from fedloom.ml.glm.batches import check_batches, training_rows
from fedloom.ml.glm.optimizer import Optimizer, initial_weights
from fedloom.ml.glm.sqn import PlainStep, SqnParty, check_sample, make_stepper

Vector = NDArray[np.float64]


class GlmHost(GlmParty):
    """A host's side of fit and predict; subclasses set ``family``."""

    def fit(
        self,
        ctx: Context,
        x: ArrayLike,
        *,
        warm_start: HeteroLRModel | None = None,
        validate: ArrayLike | None = None,
    ) -> HeteroLRModel:
        """Train on the aligned rows ``x`` (this host's features, same row order as the guest).

        ``warm_start`` (this host's part of a saved model) continues from its weights; its
        iteration count must be the guest's. ``validate`` holds this host's features of the
        guest's validation rows (same order), scored after the epochs ``validation_freqs``
        names.
        """
        param = self.param
        check_topology(ctx, param, self.family)
        features = check_features(x, "host features")
        rows, width = features.shape
        x_val = None if validate is None else check_features(validate, "host validation features")
        if x_val is not None and x_val.shape[1] != width:
            raise ValueError(f"host validation features have {x_val.shape[1]} columns, not {width}")
        fit_ctx = ctx.sub("fit")
        key = receive_public_key(fit_ctx, param.encrypt_param.backend)
        fit_ctx.guest.put(
            "shape",
            {
                "rows": rows,
                "features": width,
                "validate_rows": 0 if x_val is None else int(x_val.shape[0]),
                "start": warm_start.n_iter if warm_start is not None else 0,
            },
        )
        start, validates = receive_setup(fit_ctx, warm_start)
        if warm_start is not None:
            coef = warm_weights(warm_start, width, "host")
        else:
            host_index = ctx.parties.hosts.index(ctx.local)
            coef = initial_weights(param, width, seed_offset=1 + host_index)
        optimizer = Optimizer(param, width, np.ones(width, dtype=bool))
        stepper = make_stepper(optimizer, key, partial(self._hvp, key=key, features=features))
        model = HeteroLRModel("host", coef, n_iter=start)
        checker = PeerValidation(param, x_val) if validates else None
        for epoch, it_ctx in fit_ctx.iterations(param.max_iter, start):
            batches = check_batches(it_ctx.guest.get("batches"), rows, param, it_ctx.guest)
            previous, started = coef.copy(), time.perf_counter()
            batch_ctxs = it_ctx.batches(len(batches))
            for i, ((_, b_ctx), idx) in enumerate(zip(batch_ctxs, batches, strict=True)):
                more = epoch < param.max_iter - 1 or i < len(batches) - 1
                trained = training_rows(param, rows, idx.size)
                coef = self._batch(b_ctx, key, features[idx], coef, stepper, (epoch, trained), more)
            converged = end_epoch(it_ctx, param, model, coef - previous, started)
            stop = False
            if checker is not None and param.validates_at(epoch):
                stop = checker.run(it_ctx, epoch, coef)
            if converged or stop:
                break
        if checker is not None:
            coef = checker.finish(fit_ctx, model, coef)
        model.weights = coef.copy()
        self.model = model
        return model

    def _batch(
        self,
        ctx: Context,
        key: PublicKey,
        x: NDArray[np.float64],
        coef: NDArray[np.float64],
        stepper: PlainStep | SqnParty,
        step: tuple[int, int],
        more: bool,
    ) -> NDArray[np.float64]:
        """One batch; ``step`` is (epoch, how many of the batch's rows train)."""
        (epoch, trained), param, rows = step, self.param, x.shape[0]
        values = self.family.host_values(x @ coef, param.needs_loss)
        for name, value in values.items():
            ctx.guest.put(name, key.encrypt(value))
        if param.needs_loss:
            ctx.guest.put("penalty", key.encrypt(stepper.optimizer.penalty_loss(coef)))
        # While the guest works, get the randomness of the next batch's encryptions ready.
        if more:
            key.prefetch_randomness(rows * len(values))
        residual = expect_cipher(ctx.guest.get("residual"), key, rows, "residual", ctx.guest)
        gradient = exchange_gradient(
            ctx, key, residual.dot(x, param.feature_frac_bits), self.masking
        )
        return stepper.step(ctx, coef, gradient / trained, epoch)

    def _hvp(self, ctx: Context, s: Vector, *, key: PublicKey, features: Vector) -> Vector:
        """This host's share of ``H·s`` on the guest's sample (see :mod:`.sqn`)."""
        size = self.param.sqn_param.sample_size
        sample = check_sample(ctx.guest.get("sqn_sample"), features.shape[0], size, ctx)
        x = features[sample]
        ctx.guest.put("hess_forward", key.encrypt(x @ s))
        name = "hess_residual"
        combined = expect_cipher(ctx.guest.get(name), key, sample.size, name, ctx.guest)
        frac_bits = self.param.feature_frac_bits
        return exchange_gradient(ctx, key, combined.dot(x, frac_bits), self.masking) / sample.size

    def predict(self, ctx: Context, x: ArrayLike, model: HeteroLRModel | None = None) -> None:
        """Send this host's partial scores ``x·w`` to the guest; the host learns no result."""
        features, model = self._scoring(x, model, "host features")
        send_partial_scores(ctx.sub("predict"), features, model.weights)
