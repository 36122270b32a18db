"""What differs between the generalized linear models on the one shared protocol.

Every model has the linear predictor ``z = X_g·w_g + b + offset + Σ_h X_h·w_h`` and the
gradient ``X_pᵀ·d / n`` at each party ``p`` for a residual ``d`` the guest forms encrypted.
Per batch each host sends the guest the encrypted values its family names
(:meth:`Family.host_values`); the guest combines them with its own plaintext part:

- logistic (HeteroLR): Taylor expansion of the log-loss at 0, ``d = ¼·z + ½ − y``,
  loss ``log 2 − ½·y'·z + ⅛·z²`` with ``y' = 2y − 1``; the host sends ``[[z_h]]``
  (and ``[[z_h²]]`` for the loss); prediction ``sigmoid(z)``;
- linear (HeteroLinR): ``d = z − y``, loss ``½·(z − y)²``; the host sends ``[[z_h]]``
  (and ``[[z_h²]]``); prediction ``z``;
- Poisson (HeteroPoisson, log link, FATE's design): the host sends ``[[exp(z_h)]]``
  (and ``[[z_h]]`` for the loss); the guest forms ``d = exp(z_g + offset)·[[exp(z_h)]] − y``
  (the offset is ``log(exposure)``) and the loss ``μ − y·log μ`` with
  ``μ = exp(z_g + offset)·exp(z_h)``, dropping the constant ``log(y!)``; prediction
  ``exp(z)``. ``exp(z_h1 + z_h2)`` is a product of two hosts' ciphertexts, which additive
  encryption cannot form, so Poisson runs with exactly one host (as FATE's does).

Losses with more than one host would need cross products of the hosts' values, so the loss
(``early_stop`` 'diff' / 'abs') needs one host; 'weight_diff' works with several.

With instance weights ``w`` (SampleWeight) the guest multiplies each row's residual by ``w_i``
and the loss sums ``w_i·loss_i`` (the ``weights`` argument of :meth:`Family.loss`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from fedloom.crypto import CipherVector

Vector = NDArray[np.float64]
_LOG2 = math.log(2.0)


class Family(ABC):
    """A GLM family: labels, the hosts' encrypted values, residual, loss, prediction."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    """``"binary"`` or ``"regression"``: which metrics apply."""
    single_host: ClassVar[bool] = False
    """Whether the protocol needs exactly one host whatever the convergence check."""
    loss_value: ClassVar[str] = "forward_square"
    """The name of the host's extra encrypted value for the loss."""
    supports_sqn: ClassVar[bool] = True
    """Whether the Hessian is ``c·XᵀX`` (a constant ``c``), as the sqn optimizer needs."""

    def check_labels(self, y: Vector) -> Vector:
        """``y`` if this family accepts it; a ValueError naming the first bad label."""
        return y

    def host_values(self, z: Vector, needs_loss: bool) -> dict[str, Vector]:
        """The plaintexts a host encrypts and sends per batch, by message name."""
        values = {"forward": z}
        if needs_loss:
            values[self.loss_value] = z * z
        return values

    @abstractmethod
    def residual(self, forward: CipherVector, z: Vector, y: Vector, frac_bits: int) -> CipherVector:
        """The encrypted residual from the hosts' summed ``forward`` and the guest's ``z``."""

    @abstractmethod
    def loss(
        self,
        forward: CipherVector,
        extra: CipherVector,
        z: Vector,
        y: Vector,
        frac_bits: int,
        weights: Vector | None = None,
    ) -> CipherVector:
        """The encrypted data loss (summed over the batch, each row times its weight, length
        1); one host's values."""

    @abstractmethod
    def predict(self, z: Vector) -> Vector:
        """Predictions from the full linear predictor."""

    def curvature(self, forward: CipherVector, xs: Vector) -> CipherVector:
        """``c·X·s`` for the Hessian ``c·XᵀX`` (SQN), from the hosts' ``[[X_h·s_h]]``; only the
        families with ``supports_sqn`` have one."""
        raise ValueError(f"the {self.name} family's Hessian is not c·XᵀX: sqn cannot run on it")


class Logistic(Family):
    """HeteroLR's Taylor-approximated logistic regression."""

    name = "logistic"
    kind = "binary"

    def check_labels(self, y: Vector) -> Vector:
        """Binary labels 0/1."""
        bad = np.flatnonzero((y != 0) & (y != 1))
        if bad.size:
            raise ValueError(f"label[{int(bad[0])}] is {y[bad[0]]}; binary labels must be 0 or 1")
        return y

    def residual(self, forward: CipherVector, z: Vector, y: Vector, frac_bits: int) -> CipherVector:
        """``¼·z_h + (¼·z_g + ½ − y)``."""
        return forward.mul(0.25, frac_bits=2) + (0.25 * z + 0.5 - y)

    def loss(
        self,
        forward: CipherVector,
        extra: CipherVector,
        z: Vector,
        y: Vector,
        frac_bits: int,
        weights: Vector | None = None,
    ) -> CipherVector:
        """``Σ log 2 − ½·y'·z + ⅛·z²`` expanded so that only ``z_h`` is encrypted."""
        signed = 2.0 * y - 1.0
        if weights is not None:
            w = weights
            cross = forward.dot((w * (0.25 * z - 0.5 * signed))[:, None])
            plain = float(w @ (_LOG2 - 0.5 * signed * z + 0.125 * z * z))
            return cross + extra.dot(w[:, None], frac_bits).mul(0.125, frac_bits=3) + plain
        cross = forward.dot((0.25 * z - 0.5 * signed)[:, None])
        plain = y.size * _LOG2 - 0.5 * float(signed @ z) + 0.125 * float(z @ z)
        return cross + extra.sum().mul(0.125, frac_bits=3) + plain

    def curvature(self, forward: CipherVector, xs: Vector) -> CipherVector:
        """``¼·X·s``: the Taylor-approximated loss has the Hessian ``¼·XᵀX``."""
        return forward.mul(0.25, frac_bits=2) + 0.25 * xs

    def predict(self, z: Vector) -> Vector:
        """``sigmoid(z)``: the probability of class 1."""
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


class Linear(Family):
    """HeteroLinR's least squares."""

    name = "linear"
    kind = "regression"

    def residual(self, forward: CipherVector, z: Vector, y: Vector, frac_bits: int) -> CipherVector:
        """``z_h + (z_g − y)``."""
        return forward + (z - y)

    def loss(
        self,
        forward: CipherVector,
        extra: CipherVector,
        z: Vector,
        y: Vector,
        frac_bits: int,
        weights: Vector | None = None,
    ) -> CipherVector:
        """``Σ ½·(z_g − y)² + (z_g − y)·z_h + ½·z_h²``."""
        gap = z - y
        if weights is not None:
            w = weights
            return (
                forward.dot((w * gap)[:, None])
                + extra.dot(w[:, None], frac_bits).mul(0.5, frac_bits=1)
                + 0.5 * float(w @ (gap * gap))
            )
        return (
            forward.dot(gap[:, None]) + extra.sum().mul(0.5, frac_bits=1) + 0.5 * float(gap @ gap)
        )

    def curvature(self, forward: CipherVector, xs: Vector) -> CipherVector:
        """``X·s``: least squares has the Hessian ``XᵀX``."""
        return forward + xs

    def predict(self, z: Vector) -> Vector:
        """The linear predictor itself."""
        return np.asarray(z, dtype=np.float64)


class Poisson(Family):
    """HeteroPoisson's log-linear model (the offset carries ``log(exposure)``)."""

    name = "poisson"
    kind = "regression"
    single_host = True
    loss_value = "forward_linear"
    supports_sqn = False

    def check_labels(self, y: Vector) -> Vector:
        """Counts: non-negative labels."""
        bad = np.flatnonzero(y < 0)
        if bad.size:
            raise ValueError(f"label[{int(bad[0])}] is {y[bad[0]]}; Poisson labels must be ≥ 0")
        return y

    def host_values(self, z: Vector, needs_loss: bool) -> dict[str, Vector]:
        """``exp(z_h)``, and ``z_h`` for the loss."""
        values = {"forward": np.exp(z)}
        if needs_loss:
            values[self.loss_value] = z
        return values

    def residual(self, forward: CipherVector, z: Vector, y: Vector, frac_bits: int) -> CipherVector:
        """``exp(z_g + offset)·[[exp(z_h)]] − y``."""
        return forward.mul(np.exp(z), frac_bits=frac_bits) - y

    def loss(
        self,
        forward: CipherVector,
        extra: CipherVector,
        z: Vector,
        y: Vector,
        frac_bits: int,
        weights: Vector | None = None,
    ) -> CipherVector:
        """``Σ exp(z_g + offset)·exp(z_h) − y·(z_g + offset) − y·z_h``."""
        w = np.ones_like(y) if weights is None else weights
        mu = forward.dot((w * np.exp(z))[:, None], frac_bits)
        return mu - extra.dot((w * y)[:, None], frac_bits) - float((w * y) @ z)

    def predict(self, z: Vector) -> Vector:
        """``exp(z)``: the expected count (with the exposure in the offset)."""
        return np.asarray(np.exp(z), dtype=np.float64)


LOGISTIC, LINEAR, POISSON = Logistic(), Linear(), Poisson()
