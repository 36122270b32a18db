"""X25519 helpers for commutative ("double masking") ECDH private set intersection.

An id ``x`` is hashed to a u-coordinate ``H(x)`` (domain-separated SHA-256; X25519 accepts any
32 bytes, and Curve25519 is twist-secure, so no point validation is needed). A party with a
secret scalar ``a`` masks a point as ``X25519(a, P)``. Scalar multiplication commutes, so
``mask(a, mask(b, P)) == mask(b, mask(a, P))``: two parties can compare doubly masked ids
without either one seeing the other's singly masked values unmasked. Without the secret a
masked value is pseudo-random (decisional Diffie-Hellman).

Points travel as ``(N, 32)`` uint8 arrays. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from numpy.typing import NDArray

POINT_BYTES = 32
SECRET_BYTES = 32
_HASH_DOMAIN = b"fedloom/psi/ecdh/x25519-hash-to-u/v1\x00"


class LowOrderPointError(ValueError):
    """Masking produced the all-zero output: the input point has small order.

    Never happens for hashed ids (probability ~2^-250); it means a peer sent a malformed point.
    """

    def __init__(self, row: int) -> None:
        super().__init__(f"point at row {row} has small order (X25519 output is all zero)")
        self.row = row


def generate_secret() -> bytes:
    """A fresh secret scalar: 32 uniformly random bytes (X25519 clamps it)."""
    return secrets.token_bytes(SECRET_BYTES)


def hash_to_points(ids: Sequence[bytes]) -> NDArray[np.uint8]:
    """``H(x)`` for each id: a domain-separated SHA-256, as an ``(N, 32)`` uint8 array."""
    prefix = hashlib.sha256(_HASH_DOMAIN)
    out = bytearray()
    for x in ids:
        h = prefix.copy()
        h.update(x)
        out += h.digest()
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(len(ids), POINT_BYTES)


def check_points(points: object, what: str = "points") -> NDArray[np.uint8]:
    """``points`` if it is an ``(N, 32)`` uint8 array, else a ValueError naming ``what``."""
    if (
        not isinstance(points, np.ndarray)
        or points.dtype != np.uint8
        or points.ndim != 2
        or points.shape[1] != POINT_BYTES
    ):
        shape = getattr(points, "shape", None)
        raise ValueError(f"{what}: expected an (N, {POINT_BYTES}) uint8 array, got {shape}")
    return points


def mask(secret: bytes, points: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """``X25519(secret, P)`` for each row ``P`` of an ``(N, 32)`` uint8 array."""
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"an X25519 secret is {SECRET_BYTES} bytes, got {len(secret)}")
    raw = np.ascontiguousarray(check_points(points)).tobytes()
    key = X25519PrivateKey.from_private_bytes(secret)
    out = bytearray()
    for row, start in enumerate(range(0, len(raw), POINT_BYTES)):
        peer = X25519PublicKey.from_public_bytes(raw[start : start + POINT_BYTES])
        try:
            out += key.exchange(peer)
        except ValueError:
            raise LowOrderPointError(row) from None
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(len(points), POINT_BYTES)
