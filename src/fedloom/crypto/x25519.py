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
from collections.abc import Callable, Sequence

import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from numpy.typing import NDArray

POINT_BYTES = 32
SECRET_BYTES = 32
_HASH_DOMAIN = b"fedloom/psi/ecdh/x25519-hash-to-u/v1\x00"


def _public_key_loader() -> Callable[[bytes], X25519PublicKey]:
    """``X25519PublicKey.from_public_bytes`` without its per-call backend check.

    The public wrapper asks the backend whether X25519 is supported on every call: ~1.7 µs of
    the ~40 µs a point costs. Where this version of ``cryptography`` has its binding where
    expected (checked once, here), the binding is called directly; else the public API.
    """
    try:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        load: Callable[[bytes], X25519PublicKey] = rust_openssl.x25519.from_public_bytes
        if isinstance(load(bytes([9]) + bytes(31)), X25519PublicKey):
            return load
    except (ImportError, AttributeError, TypeError, ValueError):
        pass
    return X25519PublicKey.from_public_bytes


_load_public_key = _public_key_loader()


class LowOrderPointError(ValueError):
    """Masking produced the all-zero output: the input point has small order.

    Never happens for hashed ids (probability ~2^-250); it means a peer sent a malformed point.
    """

    def __init__(self, row: int) -> None:
        super().__init__(f"point at row {row} has small order (X25519 output is all zero)")
        self.row = row

    def __reduce__(self) -> tuple[type[LowOrderPointError], tuple[int]]:
        # Keeps ``row`` when the error comes back from a local worker process.
        return type(self), (self.row,)


def generate_secret() -> bytes:
    """A fresh secret scalar: 32 uniformly random bytes (X25519 clamps it)."""
    return secrets.token_bytes(SECRET_BYTES)


def hash_to_points(ids: Sequence[bytes]) -> NDArray[np.uint8]:
    """``H(x)`` for each id: a domain-separated SHA-256, as an ``(N, 32)`` uint8 array."""
    prefix = hashlib.sha256(_HASH_DOMAIN)
    out = b"".join([_digest(prefix, x) for x in ids])
    return np.frombuffer(out, dtype=np.uint8).reshape(len(ids), POINT_BYTES)


def _digest(prefix: hashlib._Hash, data: bytes) -> bytes:
    h = prefix.copy()
    h.update(data)
    return h.digest()


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
    """``X25519(secret, P)`` for each row ``P`` of an ``(N, 32)`` uint8 array.

    One private key object serves the whole array; the per-point work is one public-key object
    and one exchange (about 36 µs on a 2020s x86 core, almost all of it the scalar product).
    """
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"an X25519 secret is {SECRET_BYTES} bytes, got {len(secret)}")
    raw = np.ascontiguousarray(check_points(points)).tobytes()
    exchange = X25519PrivateKey.from_private_bytes(secret).exchange
    load = _load_public_key
    starts = range(0, len(raw), POINT_BYTES)
    try:
        out = b"".join([exchange(load(raw[i : i + POINT_BYTES])) for i in starts])
    except ValueError:
        for row, i in enumerate(starts):  # find the offending row for the error
            try:
                exchange(load(raw[i : i + POINT_BYTES]))
            except ValueError:
                raise LowOrderPointError(row) from None
        raise
    return np.frombuffer(out, dtype=np.uint8).reshape(len(points), POINT_BYTES)
