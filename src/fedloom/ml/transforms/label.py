"""Label encoding: a map from label values to encoded values, applied to a label vector."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

Vector = NDArray[np.float64]


class UnknownLabel(ValueError):
    """A value the encoder has no entry for; ``row`` is its first row."""

    def __init__(self, value: float, row: int) -> None:
        super().__init__(f"label {value:g} is not in the label encoder")
        self.value = value
        self.row = row


def learn_encoder(labels: Vector) -> dict[float, float]:
    """FATE's default encoder: the sorted distinct labels → 0, 1, 2, ..."""
    return {float(v): float(i) for i, v in enumerate(np.unique(labels).tolist())}


def encode(labels: Vector, encoder: Mapping[float, float]) -> Vector:
    """``labels`` mapped by ``encoder``; UnknownLabel for the first value it lacks."""
    out = np.empty_like(labels)
    for i, value in enumerate(labels.tolist()):
        mapped = encoder.get(float(value))
        if mapped is None:
            raise UnknownLabel(float(value), i)
        out[i] = mapped
    return out


def inverse(encoder: Mapping[float, float]) -> dict[float, float]:
    """The encoder read backwards; ValueError if two labels share an encoded value."""
    back: dict[float, float] = {}
    for key, value in encoder.items():
        if value in back:
            raise ValueError(
                f"labels {back[value]:g} and {key:g} are both encoded as {value:g}, so the "
                "encoding cannot be reversed"
            )
        back[value] = key
    return back
