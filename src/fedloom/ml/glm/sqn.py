"""The stochastic quasi-Newton optimizer (FATE's ``sqn``) on the masked protocol.

After every batch each party takes an L-BFGS step on its own weights: the direction is the
two-loop recursion over the last ``memory_M`` curvature pairs ``(s, y)``, whose inner
products span every party's coefficients. Every ``update_interval_L`` batches each party
averages its weights of those batches, ``w̄``; from the second average on it forms
``s = w̄ − w̄_previous`` and the Hessian-vector product ``y = H·s`` on a random sample of
``sample_size`` rows (drawn by the guest with ``random_seed``, sent to hosts as row positions):
hosts send ``[[X_h·s_h]]``, the guest adds ``X_g·s_g`` and the family's curvature (¼ for the
Taylor-approximated logistic loss, 1 for least squares) and sends the encrypted sum back, and
each party has ``Xᵀ·(c·X·s)`` decrypted through the arbiter behind a mask, exactly like its
gradient. A pair is kept when ``s·y > 0``.

Global inner products are *encrypted sums*: each party encrypts its partial product and the
arbiter decrypts only the total, which every party then learns. What this reveals, beyond the
other optimizers: per step the ``2·pairs`` two-loop scalars and per pair ``s·y`` and ``y·y``;
with one host, the host can subtract its own share and learn the guest's share of each of
those scalars (never a vector). FATE's SQN lets the arbiter see every party's gradient
instead; here every vector stays behind masks.
Before the first pair the step is plain SGD. Poisson's Hessian ``Xᵀ·diag(μ)·X`` would need
``μ·(X·s)``, a product of two encrypted values, so SQN is refused for it. The state (pairs,
averages) restarts on a warm start.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from fedloom.crypto import PrivateKey, PublicKey
from fedloom.federation import Context, FederationError
from fedloom.ml.glm._common import expect, expect_cipher
from fedloom.ml.glm.optimizer import Optimizer

Vector = NDArray[np.float64]
Hvp = Callable[[Context, Vector], Vector]
"""A party's share of the federated Hessian-vector product: (context, its s) → its y."""


class PlainStep:
    """The local optimizers' step (every optimizer but SQN), behind the same interface."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer

    def step(self, ctx: Context, w: Vector, grad: Vector, epoch: int) -> Vector:
        """The weights after one local step with the data gradient ``grad``."""
        return self.optimizer.step(w, grad, epoch)


def make_stepper(optimizer: Optimizer, key: PublicKey, hvp: Hvp) -> PlainStep | SqnParty:
    """SQN when ``optimizer.param`` asks for it, else the local optimizer."""
    param = optimizer.param
    if param.optimizer != "sqn":
        return PlainStep(optimizer)
    sqn = param.sqn_param
    return SqnParty(optimizer, key, hvp, sqn.update_interval_L, sqn.memory_M)


def global_sum(ctx: Context, key: PublicKey, values: Vector) -> Vector:
    """Guest or host: the sum over all parties of ``values`` (encrypted partials; the arbiter
    decrypts the total only)."""
    ctx.arbiter.put("partial", key.encrypt(values))
    total = expect(ctx.arbiter.get("total"), np.ndarray, "total", ctx.arbiter)
    if total.shape != values.shape or total.dtype != np.float64:
        raise FederationError(f"{ctx.arbiter.party} sent a total of the wrong shape")
    return total


def serve_sum(ctx: Context, public: PublicKey, private: PrivateKey, size: int) -> Vector:
    """Arbiter: add every party's encrypted partial, decrypt the total, send it to all."""
    peers = [ctx.guest, *ctx.hosts]
    parts = [expect_cipher(p.get("partial"), public, size, "partial", p) for p in peers]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    values = np.asarray(private.decrypt(total), dtype=np.float64)
    ctx.guest.put("total", values)
    ctx.hosts.put("total", values)
    return values


class SqnSchedule:
    """The state every role tracks alike: batch count, whether an average exists, pairs."""

    def __init__(self, update_interval: int, memory: int) -> None:
        self.interval, self.memory = update_interval, memory
        self.steps, self.pairs, self.has_average = 0, 0, False

    def dot_rounds(self) -> int:
        """Global sums the two-loop recursion of the coming step needs."""
        return 2 * self.pairs

    def advance(self) -> tuple[bool, bool]:
        """Count a step: (whether it closes an interval, whether that makes a pair)."""
        self.steps += 1
        if self.steps % self.interval:
            return False, False
        pair, self.has_average = self.has_average, True
        return True, pair

    def keep(self, sy: float) -> bool:
        """Record a pair's fate (kept when ``s·y > 0``); whether it was kept."""
        if sy > 0:
            self.pairs = min(self.memory, self.pairs + 1)
            return True
        return False


class SqnParty:
    """A guest's or host's SQN state over its own coefficient vector."""

    def __init__(
        self, optimizer: Optimizer, key: PublicKey, hvp: Hvp, interval: int, memory: int
    ) -> None:
        self.optimizer, self.key, self.hvp = optimizer, key, hvp
        self.schedule = SqnSchedule(interval, memory)
        self.pairs: list[tuple[Vector, Vector, float]] = []
        self.gamma = 1.0
        self.total: Vector | None = None
        self.average: Vector | None = None

    def step(self, ctx: Context, w: Vector, grad: Vector, epoch: int) -> Vector:
        """The weights after one SQN step with the data gradient ``grad``."""
        opt, p = self.optimizer, self.optimizer.param
        lr = opt.learning_rate(epoch)
        g = grad + p.alpha * opt.penalised * w if p.penalty == "L2" else grad
        sqn_ctx = ctx.sub("sqn")
        direction = self._two_loop(sqn_ctx, g) if self.pairs else g
        new = w - lr * direction
        if p.penalty == "L1":
            shrink = lr * p.alpha * opt.penalised
            new = np.sign(new) * np.maximum(np.abs(new) - shrink, 0.0)
        new = np.asarray(new, dtype=np.float64)
        self.total = new.copy() if self.total is None else self.total + new
        closes, pair = self.schedule.advance()
        if closes:
            average = self.total / self.schedule.interval
            self.total = None
            if pair:
                assert self.average is not None
                self._pair(sqn_ctx, average - self.average)
            self.average = average
        return new

    def _pair(self, ctx: Context, s: Vector) -> None:
        y = self.hvp(ctx.sub("hvp"), s)
        sy, yy = global_sum(ctx.sub("pair"), self.key, np.array([s @ y, y @ y]))
        if self.schedule.keep(float(sy)):
            self.pairs = [*self.pairs, (s, y, 1.0 / float(sy))][-self.schedule.memory :]
            self.gamma = float(sy) / float(yy)

    def _two_loop(self, ctx: Context, g: Vector) -> Vector:
        q, alphas, rounds = g.copy(), [], iter(range(2 * len(self.pairs)))
        for s, y, rho in reversed(self.pairs):
            dot = global_sum(ctx.sub(f"dot-{next(rounds)}"), self.key, np.array([s @ q]))
            alpha = rho * float(dot[0])
            alphas.append(alpha)
            q = q - alpha * y
        r = self.gamma * q
        for (s, y, rho), alpha in zip(self.pairs, reversed(alphas), strict=True):
            dot = global_sum(ctx.sub(f"dot-{next(rounds)}"), self.key, np.array([y @ r]))
            r = r + s * (alpha - rho * float(dot[0]))
        return np.asarray(r, dtype=np.float64)


class SqnArbiter:
    """The arbiter's side: serves the global sums and the Hessian-vector decryptions."""

    def __init__(self, interval: int, memory: int) -> None:
        self.schedule = SqnSchedule(interval, memory)

    def after_batch(
        self,
        ctx: Context,
        public: PublicKey,
        private: PrivateKey,
        decrypt: Callable[[Context], None],
    ) -> None:
        """Serve one batch's SQN step (``decrypt`` serves masked decryptions under a context)."""
        sqn_ctx = ctx.sub("sqn")
        for i in range(self.schedule.dot_rounds()):
            serve_sum(sqn_ctx.sub(f"dot-{i}"), public, private, 1)
        if self.schedule.advance()[1]:
            decrypt(sqn_ctx.sub("hvp"))
            sy = serve_sum(sqn_ctx.sub("pair"), public, private, 2)[0]
            self.schedule.keep(float(sy))


def sample_rows(rng: np.random.Generator, rows: int, size: int) -> NDArray[np.int64]:
    """The guest's random sample of distinct rows for a Hessian-vector product."""
    return np.sort(rng.choice(rows, size=min(size, rows), replace=False)).astype(np.int64)


def check_sample(value: object, rows: int, size: int, ctx: Context) -> NDArray[np.int64]:
    """Host: the guest's sample, checked to be ``min(size, rows)`` distinct rows."""
    sample = expect(value, np.ndarray, "sqn_sample", ctx.guest)
    expected = min(size, rows)
    if sample.dtype.kind not in "iu" or sample.ndim != 1 or sample.size != expected:
        raise FederationError(f"{ctx.guest.party} sent a malformed Hessian sample")
    if sample.min() < 0 or sample.max() >= rows or np.unique(sample).size != sample.size:
        raise FederationError(f"{ctx.guest.party} sent Hessian sample rows out of range")
    return sample.astype(np.int64)
