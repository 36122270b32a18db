"""Commutative (Pohlig–Hellman / SRA) encryption of ids in a safe-prime group, for DH PSI.

A party with a secret exponent ``k`` encrypts an id ``x`` as ``H(x)^k mod p``; exponentiation
commutes, so ``(H(x)^a)^b == (H(x)^b)^a`` and two parties can compare doubly encrypted ids. The
groups are the RFC 3526 MODP groups (2048, 3072 and 4096 bits) and RFC 2409's 1024-bit group:
``p`` is a published safe prime ``p = 2q + 1``, and ``H`` maps ids into the subgroup of
quadratic residues, of prime order ``q``, where the decisional Diffie-Hellman assumption is
believed to hold. Secret exponents are uniform in ``[1, q)``. A value received from a peer is
accepted only if it is a quadratic residue other than 1 (the other subgroups of Z_p* are {1}
and {1, -1}), checked with the Jacobi symbol, so a peer cannot probe a key through a small subgroup.

``H``: SHA-256 in counter mode over ``len(p) + 16`` bytes, reduced mod p and squared,
domain-separated and bound to ``p``. Values travel as ``(N, len(p))`` uint8 arrays of
big-endian integers. Pure functions, no I/O; ``gmpy2`` does the arithmetic.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gmpy2
import numpy as np
from numpy.typing import NDArray

from fedloom.crypto._groupops import release_gil
from fedloom.crypto.rsa_blind import array_to_ints, ints_to_array

Mpz = Any
"""A gmpy2 ``mpz`` (gmpy2 ships no type stubs)."""

DIGEST_BYTES = 32
_HASH_DOMAIN = b"fedloom/psi/dh/modp-hash-to-qr/v1\x00"
_FINAL_DOMAIN = b"fedloom/psi/dh/element-hash/v1\x00"
_EXTRA_BYTES = 16

_RFC_OFFSETS = {1024: 129093, 2048: 124476, 3072: 1690314, 4096: 240904}
"""The ``c`` of each published group (RFC 2409 section 6.2, RFC 3526 sections 3-5)."""


def _modp_prime(bits: int, offset: int) -> int:
    """RFC 2409 / 3526's ``p = 2^b - 2^(b-64) - 1 + 2^64 * (floor(2^(b-130) * pi) + c)``."""
    context = gmpy2.get_context().copy()
    context.precision = bits + 64
    with gmpy2.context(context):
        scaled = int(gmpy2.floor(gmpy2.mul(gmpy2.const_pi(), gmpy2.mpfr(2) ** (bits - 130))))
    return int(2**bits - 2 ** (bits - 64) - 1 + 2**64 * (scaled + offset))


PRIMES: dict[int, int] = {bits: _modp_prime(bits, c) for bits, c in _RFC_OFFSETS.items()}
"""The published MODP safe primes by bit length: RFC 2409's 1024-bit group 2 (FATE's default
size; below every site's default policy, so only a site that lowers ``FEDLOOM_MIN_KEY_LENGTH``
runs it) and RFC 3526's 2048, 3072 and 4096-bit groups, computed from the RFCs' formula (the
tests check them against the published hex digits and for primality)."""
KEY_LENGTHS: tuple[int, ...] = tuple(PRIMES)


@dataclass(frozen=True)
class DHGroup:
    """The quadratic residues modulo a published safe prime ``p = 2q + 1``."""

    key_length: int

    def __post_init__(self) -> None:
        if self.key_length not in PRIMES:
            lengths = ", ".join(str(k) for k in KEY_LENGTHS)
            raise ValueError(f"DH key_length must be one of {lengths}, got {self.key_length}")

    @property
    def p(self) -> Mpz:
        """The safe prime."""
        return gmpy2.mpz(PRIMES[self.key_length])

    @property
    def q(self) -> Mpz:
        """The order of the quadratic-residue subgroup, ``(p - 1) / 2`` (prime)."""
        return (self.p - 1) // 2

    @property
    def byte_length(self) -> int:
        """Width in bytes of one group element on the wire."""
        return self.key_length // 8


def generate_exponent(group: DHGroup) -> int:
    """A fresh secret exponent, uniform in ``[1, q)``."""
    return 1 + secrets.randbelow(int(group.q) - 1)


def hash_to_group(group: DHGroup, ids: Sequence[bytes]) -> list[Mpz]:
    """``H(x)`` for each id: a quadratic residue modulo ``p`` (a square of a full-domain hash)."""
    p = group.p
    width = group.byte_length + _EXTRA_BYTES
    blocks = (width + 31) // 32
    prefix = hashlib.sha256(_HASH_DOMAIN + int(p).to_bytes(group.byte_length, "big"))
    out: list[Mpz] = []
    for x in ids:
        h = prefix.copy()
        h.update(len(x).to_bytes(8, "big") + x)
        seed = h.digest()
        stream = b"".join(
            hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(blocks)
        )
        v = gmpy2.mpz(int.from_bytes(stream[:width], "big")) % p
        out.append(gmpy2.powmod(v, 2, p))
    return out


def check_elements(group: DHGroup, values: Sequence[Mpz]) -> None:
    """ValueError naming the first row that is not a quadratic residue in ``[2, p)``."""
    p = group.p
    for row, v in enumerate(values):
        if not 1 < v < p or gmpy2.jacobi(v, p) != 1:
            raise ValueError(f"row {row} is not an element of the quadratic-residue group")


def power(group: DHGroup, values: Sequence[Mpz], exponent: int) -> list[Mpz]:
    """``v^exponent mod p`` for each ``v``."""
    release_gil()
    p, k = group.p, gmpy2.mpz(exponent)
    return [gmpy2.powmod(v, k, p) for v in values]


def digest(group: DHGroup, values: Sequence[Mpz]) -> NDArray[np.uint8]:
    """A domain-separated SHA-256 of each fixed-width element, as an ``(N, 32)`` uint8 array."""
    prefix = hashlib.sha256(_FINAL_DOMAIN)
    width = group.byte_length
    parts = []
    for v in values:
        h = prefix.copy()
        h.update(int(v).to_bytes(width, "big"))
        parts.append(h.digest())
    return np.frombuffer(b"".join(parts), dtype=np.uint8).reshape(len(values), DIGEST_BYTES)


def to_array(group: DHGroup, values: Sequence[Mpz]) -> NDArray[np.uint8]:
    """Elements as an ``(N, len(p))`` uint8 array of big-endian integers (wire form)."""
    return ints_to_array(values, group.byte_length)


def from_array(group: DHGroup, array: NDArray[np.uint8]) -> list[Mpz]:
    """Elements from their wire form (not checked: see :func:`check_elements`)."""
    if array.shape[0] == 0:
        return []
    return array_to_ints(array)
