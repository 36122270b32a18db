"""Fixtures and helpers shared by the serde test modules."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest

from fedloom.crypto import (
    PaillierPrivateKey,
    PaillierPublicKey,
)
from fedloom.federation.serde import MAGIC, KeyRing, Serde

pytestmark = pytest.mark.unit

PaillierKeys = tuple[PaillierPublicKey, PaillierPrivateKey]


def policy_ring(**policy: Any) -> KeyRing:
    """A ring for tests: 512-bit keys allowed, plain allowed unless told otherwise."""
    return KeyRing(**{"min_key_length": 512, "allow_plain": True, **policy})


def same(a: Any, b: Any) -> bool:
    """Structural equality where nan equals nan, -0.0 differs from 0.0 and tuples are lists."""
    if isinstance(a, tuple):
        a = list(a)
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack(">d", a) == struct.pack(">d", b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return bool(
            a.shape == b.shape
            and a.dtype.newbyteorder("<") == b.dtype
            and a.astype(b.dtype).tobytes() == b.tobytes()
        )
    return bool(a == b)


def roundtrip(value: Any, serde: Serde | None = None) -> Any:
    serde = serde if serde is not None else Serde()
    data = serde.dumps(value)
    assert isinstance(data, bytes) and data.startswith(MAGIC)
    return serde.loads(data)
