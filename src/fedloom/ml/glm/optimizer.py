"""Local optimizers of HeteroLR: each party updates only its own weights, in plaintext.

Same update rules and learning-rate decay as FATE: ``lr_t = lr / sqrt(1 + decay·t)`` (or
``lr / (1 + decay·t)`` without ``decay_sqrt``), t the epoch. L2 adds ``alpha·w`` to the
gradient; L1 applies the proximal soft-threshold after the step. The intercept is never
penalised. Nesterov momentum SGD follows FATE's form: ``v = 0.9·m − lr·g``,
``Δ = 0.9·m − 1.9·v``, ``m = v``, ``w ← w − Δ``.

A warm start (training on from a saved model) restarts the optimizer state (moments, step
count) from zero: models store weights, not optimizer state. The learning-rate decay continues
from the saved iteration count, since ``epoch`` counts from the start of the first fit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from fedloom.ml.glm.params import HeteroLRParam

Vector = NDArray[np.float64]
_MOMENTUM = 0.9


class Optimizer:
    """One party's optimizer state over its own coefficient vector."""

    def __init__(self, param: HeteroLRParam, size: int, penalised: NDArray[np.bool_]) -> None:
        self.param = param
        self.penalised = penalised.astype(np.float64)
        self.m = np.zeros(size)
        self.v = np.zeros(size)
        self.steps = 0

    def learning_rate(self, epoch: int) -> float:
        """The decayed learning rate of ``epoch``."""
        p = self.param
        denom = 1.0 + p.decay * epoch
        return p.learning_rate / (float(np.sqrt(denom)) if p.decay_sqrt else denom)

    def penalty_loss(self, w: Vector) -> float:
        """The regularisation term this party contributes to the objective."""
        p = self.param
        if p.penalty == "L2":
            return 0.5 * p.alpha * float(np.sum(self.penalised * w * w))
        if p.penalty == "L1":
            return p.alpha * float(np.sum(self.penalised * np.abs(w)))
        return 0.0

    def step(self, w: Vector, grad: Vector, epoch: int) -> Vector:
        """Return the weights after one update with the data gradient ``grad``."""
        p = self.param
        lr = self.learning_rate(epoch)
        g = grad + p.alpha * self.penalised * w if p.penalty == "L2" else grad
        self.steps += 1
        if p.optimizer == "sgd":
            delta = lr * g
        elif p.optimizer == "rmsprop":
            self.v = 0.99 * self.v + 0.01 * g * g
            delta = lr * g / np.sqrt(self.v + 1e-6)
        elif p.optimizer == "nesterov_momentum_sgd":
            velocity = _MOMENTUM * self.m - lr * g
            delta = _MOMENTUM * self.m - (1.0 + _MOMENTUM) * velocity
            self.m = velocity
        elif p.optimizer == "adagrad":
            self.v = self.v + g * g
            delta = lr * g / np.sqrt(self.v + 1e-7)
        else:
            self.m = 0.9 * self.m + 0.1 * g
            self.v = 0.999 * self.v + 0.001 * g * g
            m_hat = self.m / (1 - 0.9**self.steps)
            v_hat = self.v / (1 - 0.999**self.steps)
            delta = lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        new = w - delta
        if p.penalty == "L1":
            shrink = lr * p.alpha * self.penalised
            new = np.sign(new) * np.maximum(np.abs(new) - shrink, 0.0)
        return np.asarray(new, dtype=np.float64)


def initial_weights(param: HeteroLRParam, size: int, seed_offset: int = 0) -> Vector:
    """Initial coefficients per ``init_param`` (the seed is offset per party)."""
    init = param.init_param
    seed = None if init.random_seed is None else init.random_seed + seed_offset
    rng = np.random.default_rng(seed)
    match init.init_method:
        case "zeros":
            return np.zeros(size)
        case "ones":
            return np.ones(size)
        case "const":
            return np.full(size, init.init_const)
        case "random_normal":
            return rng.normal(0.0, 1.0, size)
        case _:
            return rng.uniform(0.0, 1.0, size)
