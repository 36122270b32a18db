"""What the GLM runner needs of each role's algorithm in ``fedloom.ml`` (typed protocols)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from fedloom.federation import Context
from fedloom.ml.glm import HeteroLRModel

Vector = NDArray[np.float64]


class GuestAlgorithm(Protocol):
    """The guest side of a GLM in ``fedloom.ml``."""

    def fit(
        self,
        ctx: Context,
        x: Vector,
        y: Vector,
        *,
        warm_start: HeteroLRModel | None = ...,
        validate: tuple[Vector, Vector] | None = ...,
        offset: Vector | None = ...,
        validate_offset: Vector | None = ...,
        weights: Vector | None = ...,
    ) -> HeteroLRModel: ...

    def predict(
        self,
        ctx: Context,
        x: Vector,
        model: HeteroLRModel | None = ...,
        offset: Vector | None = ...,
    ) -> Vector: ...


class HostAlgorithm(Protocol):
    """A host side of a GLM in ``fedloom.ml``."""

    def fit(
        self,
        ctx: Context,
        x: Vector,
        *,
        warm_start: HeteroLRModel | None = ...,
        validate: Vector | None = ...,
    ) -> HeteroLRModel: ...

    def predict(self, ctx: Context, x: Vector, model: HeteroLRModel | None = ...) -> None: ...


class ArbiterAlgorithm(Protocol):
    """The arbiter side of a GLM in ``fedloom.ml``."""

    def fit(self, ctx: Context, *, warm_start: HeteroLRModel | None = ...) -> HeteroLRModel: ...
