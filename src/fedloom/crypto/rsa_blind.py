"""RSA blind signatures for private set intersection (FATE's RSA intersection).

The host holds an RSA key ``(n, e, d)``. For an id ``x`` the guest wants ``H2(H(x)^d mod n)``
without showing ``x``: it sends ``y = H(x)·r^e mod n`` for a fresh uniform ``r`` in Z_n*, the
host returns ``y^d = H(x)^d·r`` and the guest multiplies by ``r^-1``. Because ``r ↦ r^e`` is a
permutation of Z_n*, ``y`` is uniform whatever ``x`` is, so the host learns nothing about the
guest's ids; without ``d`` the guest cannot compute ``H(x')^d`` for a host id ``x'``, so the
host's ``H2(H(x')^d)`` values hide its ids.

``H`` is a full-domain hash: SHA-256 in counter mode over ``len(n) + 16`` bytes, reduced mod n
(the 128 extra bits make the reduction bias negligible), domain-separated and bound to the
public key. ``H2`` is a domain-separated SHA-256 of the fixed-width signature. The host signs
with the CRT and checks every signature before it is released (a faulty CRT signature would
reveal a factor of n).

All functions are vectorised over lists; values are gmpy2 integers. Pure functions and key
objects, no I/O.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

import gmpy2
import numpy as np
from cryptography.hazmat.primitives.asymmetric import rsa
from numpy.typing import NDArray

Mpz = Any
"""A gmpy2 ``mpz`` (gmpy2 ships no type stubs)."""

DEFAULT_RSA_KEY_LENGTH = 2048
MIN_RSA_KEY_LENGTH = 1024
"""Smallest modulus accepted; 1024 bits is for tests only, production uses 2048 or more."""
PUBLIC_EXPONENT = 65537
DIGEST_BYTES = 32
"""Width of the final hash ``H2`` of a signature."""

_FDH_DOMAIN = b"fedloom/psi/rsa/full-domain-hash/v1\x00"
_FINAL_DOMAIN = b"fedloom/psi/rsa/signature-hash/v1\x00"
_FDH_EXTRA_BYTES = 16


class RSABlindPublicKey:
    """The host's public key ``(n, e)``: what the guest needs to hash, blind and unblind."""

    def __init__(self, n: int, e: int = PUBLIC_EXPONENT) -> None:
        n, e = int(n), int(e)
        if n.bit_length() < MIN_RSA_KEY_LENGTH or n % 2 == 0:
            raise ValueError(
                f"not a valid RSA modulus (need an odd n of >= {MIN_RSA_KEY_LENGTH} bits)"
            )
        if e < 3 or e % 2 == 0 or e >= n:
            raise ValueError(f"not a valid RSA public exponent: {e}")
        self.n = gmpy2.mpz(n)
        self.e = gmpy2.mpz(e)
        self.byte_length = (n.bit_length() + 7) // 8
        binding = hashlib.sha256(
            n.to_bytes(self.byte_length, "big") + e.to_bytes((e.bit_length() + 7) // 8, "big")
        ).digest()
        self._fdh_prefix = hashlib.sha256(_FDH_DOMAIN + binding)

    @property
    def key_length(self) -> int:
        """Bit length of the modulus n."""
        return int(self.n.bit_length())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RSABlindPublicKey) and (self.n, self.e) == (other.n, other.e)

    def __hash__(self) -> int:
        return hash((int(self.n), int(self.e)))

    def __repr__(self) -> str:
        return f"RSABlindPublicKey({self.key_length} bits, e={int(self.e)})"


class RSABlindPrivateKey:
    """The host's private key: signs (``y^d mod n``) with the CRT."""

    def __init__(self, p: int, q: int, e: int = PUBLIC_EXPONENT) -> None:
        p_, q_ = gmpy2.mpz(p), gmpy2.mpz(q)
        if p_ == q_ or not (gmpy2.is_prime(p_) and gmpy2.is_prime(q_)):
            raise ValueError("p and q must be distinct primes")
        lam = gmpy2.lcm(p_ - 1, q_ - 1)
        if gmpy2.gcd(e, lam) != 1:
            raise ValueError(f"e={e} is not invertible modulo lcm(p-1, q-1)")
        self.public_key = RSABlindPublicKey(int(p_ * q_), e)
        d = gmpy2.invert(gmpy2.mpz(e), lam)
        self._p, self._q = p_, q_
        self._dp, self._dq = d % (p_ - 1), d % (q_ - 1)
        self._q_inv = gmpy2.invert(q_, p_)

    def sign(self, values: Sequence[Mpz]) -> list[Mpz]:
        """``v^d mod n`` for each ``v`` in ``[0, n)``, by the CRT, each checked before release."""
        n, p, q = self.public_key.n, self._p, self._q
        for v in values:
            if not 0 <= v < n:
                raise ValueError("a value to sign is outside [0, n)")
        sp = gmpy2.powmod_base_list([v % p for v in values], self._dp, p)
        sq = gmpy2.powmod_base_list([v % q for v in values], self._dq, q)
        sigs = [b + ((a - b) * self._q_inv % p) * q for a, b in zip(sp, sq, strict=True)]
        if not verify(self.public_key, sigs, values):
            raise ArithmeticError("CRT signature check failed; refusing to release signatures")
        return sigs

    def __repr__(self) -> str:
        return f"RSABlindPrivateKey({self.public_key.key_length} bits)"


def generate_rsa_keypair(key_length: int = DEFAULT_RSA_KEY_LENGTH) -> RSABlindPrivateKey:
    """A fresh key of ``key_length`` bits with e = 65537 (primes from ``cryptography``)."""
    if key_length < MIN_RSA_KEY_LENGTH:
        raise ValueError(f"RSA key length must be >= {MIN_RSA_KEY_LENGTH} bits, got {key_length}")
    numbers = rsa.generate_private_key(PUBLIC_EXPONENT, key_length).private_numbers()
    return RSABlindPrivateKey(numbers.p, numbers.q, PUBLIC_EXPONENT)


def hash_to_zn(public_key: RSABlindPublicKey, ids: Sequence[bytes]) -> list[Mpz]:
    """Full-domain hash ``H(x)`` of each id into Z_n, bound to this public key."""
    out_len = public_key.byte_length + _FDH_EXTRA_BYTES
    counters = [c.to_bytes(4, "big") for c in range(-(-out_len // 32))]
    prefix, n = public_key._fdh_prefix, public_key.n
    result: list[Mpz] = []
    for x in ids:
        base = prefix.copy()
        base.update(len(x).to_bytes(8, "big"))
        base.update(x)
        stream = bytearray()
        for counter in counters:
            h = base.copy()
            h.update(counter)
            stream += h.digest()
        result.append(gmpy2.mpz(int.from_bytes(stream[:out_len], "big")) % n)
    return result


def _random_unit(n: Mpz) -> tuple[Mpz, Mpz]:
    """A uniform ``r`` in Z_n* and its inverse."""
    while True:
        r = gmpy2.mpz(secrets.randbelow(int(n) - 1) + 1)
        try:
            return r, gmpy2.invert(r, n)
        except ZeroDivisionError:  # r shares a factor with n: probability ~2^-1023
            continue


def blind(public_key: RSABlindPublicKey, hashed: Sequence[Mpz]) -> tuple[list[Mpz], list[Mpz]]:
    """``(H(x)·r^e mod n, r^-1 mod n)`` per value, with a fresh uniform r in Z_n* each."""
    n = public_key.n
    units = [_random_unit(n) for _ in hashed]
    masks = gmpy2.powmod_base_list([r for r, _ in units], public_key.e, n)
    blinded = [h * m % n for h, m in zip(hashed, masks, strict=True)]
    return blinded, [inv for _, inv in units]


def unblind(
    public_key: RSABlindPublicKey, signatures: Sequence[Mpz], unblinders: Sequence[Mpz]
) -> list[Mpz]:
    """Remove the blinding: ``(H(x)^d·r)·r^-1 = H(x)^d mod n``."""
    n = public_key.n
    return [s * u % n for s, u in zip(signatures, unblinders, strict=True)]


def verify(public_key: RSABlindPublicKey, signatures: Sequence[Mpz], values: Sequence[Mpz]) -> bool:
    """True when ``s^e ≡ v (mod n)`` for every pair."""
    if len(signatures) != len(values):
        return False
    n = public_key.n
    powered = gmpy2.powmod_base_list(list(signatures), public_key.e, n)
    return all(a == b % n for a, b in zip(powered, values, strict=True))


def hash_signatures(public_key: RSABlindPublicKey, signatures: Sequence[Mpz]) -> NDArray[np.uint8]:
    """``H2(s)``: a domain-separated SHA-256 of each fixed-width signature, shape ``(N, 32)``."""
    width = public_key.byte_length
    prefix = hashlib.sha256(_FINAL_DOMAIN)
    out = bytearray()
    for s in signatures:
        h = prefix.copy()
        h.update(int(s).to_bytes(width, "big"))
        out += h.digest()
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(len(signatures), DIGEST_BYTES)


def ints_to_array(values: Sequence[Mpz], width: int) -> NDArray[np.uint8]:
    """Non-negative integers as a ``(N, width)`` uint8 array of big-endian bytes (wire form)."""
    raw = b"".join(int(v).to_bytes(width, "big") for v in values)
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(values), width)


def array_to_ints(array: NDArray[np.uint8]) -> list[Mpz]:
    """The inverse of :func:`ints_to_array`."""
    if array.ndim != 2 or array.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 array, got {array.dtype} of shape {array.shape}")
    width = array.shape[1]
    if width == 0:
        raise ValueError("expected a non-zero integer width")
    raw = np.ascontiguousarray(array).tobytes()
    return [gmpy2.mpz(int.from_bytes(raw[i : i + width], "big")) for i in range(0, len(raw), width)]
