"""A GLM at the guest: holds the labels, forms the encrypted residual, owns the intercept.

The family (:mod:`.family`) supplies the residual, the loss and the prediction; an optional
per-row ``offset`` (HeteroPoisson's ``log(exposure)``) is added to the guest's linear part.
Optional instance ``weights`` (SampleWeight's) scale each row's residual and loss as FATE
does: ``d_i·w_i``, the gradient still divided by the batch's row count, so hosts divide as
before and learn nothing about the weights but that some are used (the residual's
fixed-point scale).
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fedloom.crypto import CipherVector, PublicKey
from fedloom.federation import Context
from fedloom.ml.glm._common import (
    HeteroLRModel,
    add_partial_scores,
    check_features,
    check_topology,
    end_epoch,
    exchange_gradient,
    expect,
    expect_cipher,
    receive_public_key,
    send_setup,
    warm_weights,
)
from fedloom.ml.glm._party import GlmParty
from fedloom.ml.glm._validate import GuestValidation
from fedloom.ml.glm.batches import (
    batch_rng,
    check_batch_safety,
    check_sample_safety,
    draw_epoch,
)
from fedloom.ml.glm.family import Family
from fedloom.ml.glm.optimizer import Optimizer, initial_weights
from fedloom.ml.glm.sqn import PlainStep, SqnParty, make_stepper, sample_rows

Vector = NDArray[np.float64]


def _check_labels(y: ArrayLike, rows: int, family: Family) -> Vector:
    labels = np.asarray(y, dtype=np.float64).reshape(-1)
    if labels.size != rows:
        raise ValueError(f"labels have {labels.size} rows, features have {rows}")
    bad = np.flatnonzero(~np.isfinite(labels))
    if bad.size:
        raise ValueError(f"label[{int(bad[0])}] is {labels[bad[0]]}; labels must be finite")
    return family.check_labels(labels)


def _weights(weights: ArrayLike | None, rows: int) -> Vector | None:
    if weights is None:
        return None
    values = np.asarray(weights, dtype=np.float64).reshape(-1)
    if values.size != rows or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"the instance weights must be {rows} finite values ≥ 0")
    return values


def _offset(offset: ArrayLike | None, rows: int, what: str) -> Vector:
    if offset is None:
        return np.zeros(rows)
    values = np.asarray(offset, dtype=np.float64).reshape(-1)
    if values.size != rows or not np.all(np.isfinite(values)):
        raise ValueError(f"the {what} offset must be {rows} finite values")
    return values


class GlmGuest(GlmParty):
    """The guest's side of fit and predict; subclasses set ``family``."""

    _row_weights: Vector | None = None
    """The instance weights of the rows being fitted (None: every row weighs 1)."""

    def fit(
        self,
        ctx: Context,
        x: ArrayLike,
        y: ArrayLike,
        *,
        warm_start: HeteroLRModel | None = None,
        validate: tuple[ArrayLike, ArrayLike] | None = None,
        offset: ArrayLike | None = None,
        validate_offset: ArrayLike | None = None,
        weights: ArrayLike | None = None,
    ) -> HeteroLRModel:
        """Train on the aligned rows ``x`` (guest features) with labels ``y``.

        ``warm_start`` (this guest's part of a saved model) continues training from its weights
        and iteration count up to ``max_iter`` epochs in all (the optimizer state restarts).
        ``validate`` (aligned validation features and labels) is scored after the epochs
        ``validation_freqs`` names; hosts send partial scores of those rows and learn only
        whether to stop and, with early stopping, which epoch's weights to keep. ``offset``
        and ``validate_offset`` are added to the linear predictor of each row. ``weights``
        (one finite value ≥ 0 per row) weigh each row's gradient and loss.
        """
        param = self.param
        check_topology(ctx, param, self.family)
        features = check_features(x, "guest features")
        labels = _check_labels(y, features.shape[0], self.family)
        rows, width = features.shape
        shift = _offset(offset, rows, "training")
        self._row_weights = _weights(weights, rows)
        checker = self._validation(features.shape[1], validate, validate_offset)
        fit_ctx = ctx.sub("fit")
        key = receive_public_key(fit_ctx, param.encrypt_param.backend)
        start = warm_start.n_iter if warm_start is not None else 0
        widths = self._host_shapes(fit_ctx, rows, start, checker)
        check_batch_safety(param, rows, widths)
        if param.optimizer == "sqn":
            check_sample_safety(param.sqn_param.sample_size, rows, widths)
        send_setup(fit_ctx, start, checker is not None)

        intercept = param.init_param.fit_intercept
        design = np.hstack([features, np.ones((rows, 1))]) if intercept else features
        coef = self._initial(design.shape[1], width, warm_start)
        penalised = np.array([True] * width + ([False] if intercept else []))
        optimizer = Optimizer(param, design.shape[1], penalised)
        sample_rng = np.random.default_rng(param.sqn_param.random_seed)
        stepper = make_stepper(
            optimizer, key, partial(self._hvp, key=key, design=design, rng=sample_rng)
        )
        rng = batch_rng(param)
        model = HeteroLRModel("guest", coef[:width], n_iter=start)
        snapshots: dict[int, NDArray[np.float64]] = {}
        for epoch, it_ctx in fit_ctx.iterations(param.max_iter, start):
            batches = draw_epoch(param, rows, rng)
            it_ctx.hosts.put("batches", [b.rows for b in batches])
            it_ctx.arbiter.put("batch_sizes", [int(b.trained.size) for b in batches])
            previous, started = coef.copy(), time.perf_counter()
            batch_ctxs = it_ctx.batches(len(batches))
            for i, ((_, b_ctx), batch) in enumerate(zip(batch_ctxs, batches, strict=True)):
                more = epoch < param.max_iter - 1 or i < len(batches) - 1
                idx = batch.rows
                coef = self._batch(
                    b_ctx,
                    key,
                    (design[idx], labels[idx], shift[idx], batch.real, self._weighed(idx)),
                    coef,
                    stepper,
                    epoch,
                    more,
                )
            converged = end_epoch(it_ctx, param, model, coef - previous, started)
            stop = False
            if checker is not None and param.validates_at(epoch):
                stop = checker.run(it_ctx, epoch, coef, intercept)
                if param.early_stopping_rounds is not None:
                    snapshots[epoch] = coef.copy()
            if converged or stop:
                break
        if checker is not None:
            coef = checker.finish(fit_ctx, model, snapshots, coef)
        model.weights = coef[:width].copy()
        model.intercept = float(coef[-1]) if intercept else 0.0
        self.model = model
        return model

    def _validation(
        self,
        width: int,
        validate: tuple[ArrayLike, ArrayLike] | None,
        offset: ArrayLike | None,
    ) -> GuestValidation | None:
        if validate is None:
            if self.param.validation_freqs is not None:
                raise ValueError("validation_freqs is set but there are no validation rows")
            return None
        if self.param.validation_freqs is None:
            raise ValueError("validation rows were given but validation_freqs is not set")
        x_val = check_features(validate[0], "guest validation features")
        if x_val.shape[1] != width:
            raise ValueError(
                f"guest validation features have {x_val.shape[1]} columns, training {width}"
            )
        y_val = _check_labels(validate[1], x_val.shape[0], self.family)
        shift = _offset(offset, x_val.shape[0], "validation")
        return GuestValidation(
            self.param, self.family.kind, x_val, y_val, self.family.predict, shift
        )

    def _host_shapes(
        self, ctx: Context, rows: int, start: int, checker: GuestValidation | None
    ) -> list[int]:
        """Check every host's rows, validation rows and first epoch; their feature counts."""
        widths = []
        validate_rows = checker.rows if checker is not None else 0
        for host, value in zip(ctx.hosts, ctx.hosts.get("shape"), strict=True):
            shape = expect(value, dict, "shape", host)
            if shape.get("rows") != rows:
                raise ValueError(
                    f"{host.party} has {shape.get('rows')} aligned rows, the guest has {rows}"
                )
            if shape.get("validate_rows") != validate_rows:
                raise ValueError(
                    f"{host.party} has {shape.get('validate_rows')} validation rows, "
                    f"the guest has {validate_rows}"
                )
            if shape.get("start") != start:
                raise ValueError(
                    f"{host.party}'s model continues from epoch {shape.get('start')}, the "
                    f"guest's from {start}: warm starts need every party's model of one job"
                )
            width = shape.get("features")
            if not isinstance(width, int) or width < 1:
                raise ValueError(f"{host.party} sent a bad feature count")
            widths.append(width)
        return widths

    def _initial(
        self, size: int, width: int, warm_start: HeteroLRModel | None
    ) -> NDArray[np.float64]:
        param = self.param
        if warm_start is not None:
            weights = warm_weights(warm_start, width, "guest")
            tail = [warm_start.intercept] if param.init_param.fit_intercept else []
            if not param.init_param.fit_intercept and warm_start.intercept != 0.0:
                raise ValueError("the warm-start model has an intercept but fit_intercept is false")
            return np.concatenate([weights, np.asarray(tail, dtype=np.float64)])
        coef = initial_weights(param, size)
        if param.init_param.fit_intercept and param.init_param.init_method != "const":
            coef[-1] = 0.0
        return coef

    def _batch(
        self,
        ctx: Context,
        key: PublicKey,
        data: tuple[Vector, Vector, Vector, NDArray[np.int64] | None, Vector | None],
        coef: Vector,
        stepper: PlainStep | SqnParty,
        epoch: int,
        more: bool,
    ) -> Vector:
        x, y, shift, real, w = data
        param, family, rows = self.param, self.family, x.shape[0]
        z_guest = x @ coef + shift
        forwards = [
            expect_cipher(v, key, rows, "forward", h)
            for h, v in zip(ctx.hosts, ctx.hosts.get("forward"), strict=True)
        ]
        z_hosts = forwards[0]
        for other in forwards[1:]:
            z_hosts = z_hosts + other
        # Fresh randomness is essential: the host could otherwise strip its own forward and
        # read y.
        frac_bits = param.feature_frac_bits
        residual = family.residual(z_hosts, z_guest, y, frac_bits)
        if real is not None:  # masking rows of a random batch: a fresh encryption of 0
            keep = np.zeros(rows)
            keep[real] = 1.0
            residual = residual.mul(keep, frac_bits=0)
        if w is not None:  # FATE's instance weights: d_i·w_i
            residual = residual.mul(w, frac_bits=frac_bits)
        residual = residual.rerandomize()
        ctx.hosts.put("residual", residual)
        if more:
            key.prefetch_randomness(rows)
        gradient = exchange_gradient(ctx, key, residual.dot(x, frac_bits), self.masking)
        if param.needs_loss:
            host, name = ctx.hosts[0], family.loss_value
            extra = expect_cipher(host.get(name), key, rows, name, host)
            host_penalty = expect_cipher(host.get("penalty"), key, 1, "penalty", host)
            if real is not None:
                z_hosts, extra, z_guest, y = (
                    z_hosts.take(real),
                    extra.take(real),
                    z_guest[real],
                    y[real],
                )
                w = None if w is None else w[real]
            data_loss = family.loss(z_hosts, extra, z_guest, y, frac_bits, w)
            penalty = host_penalty + stepper.optimizer.penalty_loss(coef)
            ctx.arbiter.put("loss", CipherVector.concat([data_loss, penalty]).rerandomize())
        trained = rows if real is None else real.size
        return stepper.step(ctx, coef, gradient / trained, epoch)

    def _hvp(
        self, ctx: Context, s: Vector, *, key: PublicKey, design: Vector, rng: np.random.Generator
    ) -> Vector:
        """The guest's share of ``H·s`` on a fresh random sample (see :mod:`.sqn`)."""
        sample = sample_rows(rng, design.shape[0], self.param.sqn_param.sample_size)
        ctx.hosts.put("sqn_sample", sample)
        x = design[sample]
        forwards = [
            expect_cipher(v, key, sample.size, "hess_forward", h)
            for h, v in zip(ctx.hosts, ctx.hosts.get("hess_forward"), strict=True)
        ]
        total = forwards[0]
        for other in forwards[1:]:
            total = total + other
        combined = self.family.curvature(total, x @ s)
        weights = self._weighed(sample)
        if weights is not None:
            combined = combined.mul(weights, frac_bits=self.param.feature_frac_bits)
        combined = combined.rerandomize()
        ctx.hosts.put("hess_residual", combined)
        frac_bits = self.param.feature_frac_bits
        return exchange_gradient(ctx, key, combined.dot(x, frac_bits), self.masking) / sample.size

    def _weighed(self, rows: NDArray[np.int64]) -> Vector | None:
        """The instance weights of ``rows`` (None: unweighted training)."""
        return None if self._row_weights is None else self._row_weights[rows]

    def predict(
        self,
        ctx: Context,
        x: ArrayLike,
        model: HeteroLRModel | None = None,
        offset: ArrayLike | None = None,
    ) -> Vector:
        """Predictions (LR: probabilities of class 1) for aligned rows; hosts contribute
        partial scores only."""
        features, model = self._scoring(x, model, "guest features")
        shift = _offset(offset, features.shape[0], "prediction")
        z = features @ model.weights + model.intercept + shift
        return self.family.predict(add_partial_scores(ctx.sub("predict"), z))
