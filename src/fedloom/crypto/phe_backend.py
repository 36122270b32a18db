"""python-paillier (``phe``) as a local backend of fedloom's Paillier keys.

The keys here are ordinary Paillier keys (g = n + 1, scheme ``"paillier"``): they serialise,
compare and interoperate exactly like :class:`~fedloom.crypto.paillier.PaillierPublicKey`, and
a ciphertext made by one backend decrypts under the other. Only *who computes* differs: every
group operation runs through python-paillier's own code (``raw_encrypt`` with its fresh
``r^n`` randomness, ``raw_decrypt``, ``phe.util.powmod``/``mulmod``/``invert``), one element at
a time in the calling process, as FATE runs it. No worker pool, no DJN randomness, no
multi-exponentiation: the point is a faithful baseline, and a fallback to the reference code.

Which backend a party uses is its own choice; peers cannot tell from the wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias, get_args

import gmpy2
from phe import paillier as phe_paillier
from phe.util import invert, mulmod, powmod

from fedloom.crypto.cipher import Mpz, PrivateKey, PublicKey
from fedloom.crypto.paillier import PaillierPrivateKey, PaillierPublicKey

Backend: TypeAlias = Literal["fedloom", "phe"]
"""Who computes a Paillier key's operations: fedloom's engine or python-paillier."""

BACKENDS: tuple[Backend, ...] = get_args(Backend)


class PhePaillierPublicKey(PaillierPublicKey):
    """A Paillier public key whose operations are python-paillier's."""

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.phe_key = phe_paillier.PaillierPublicKey(int(n))

    def prefetch_randomness(self, count: int) -> None:
        """Nothing to prepare: phe draws r and computes r^n at each encryption."""

    def _scalar_power(self, c: int, k: int) -> Mpz:
        """c^k as phe's ``EncryptedNumber._raw_mul`` computes it (k taken mod n)."""
        n, nsq = self.phe_key.n, self.phe_key.nsquare
        plaintext = k % n
        if plaintext >= n - self.phe_key.max_int:
            return gmpy2.mpz(powmod(invert(c, nsq), n - plaintext, nsq))
        return gmpy2.mpz(powmod(c, plaintext, nsq))

    def raw_encrypt(self, plaintexts: Sequence[Mpz]) -> list[Mpz]:
        """phe's ``raw_encrypt``: ``(1 + m·n)·r^n mod n²`` with a fresh r < n each."""
        encrypt = self.phe_key.raw_encrypt
        return [gmpy2.mpz(encrypt(int(m))) for m in plaintexts]

    def raw_add(self, a: Sequence[Mpz], b: Sequence[Mpz]) -> list[Mpz]:
        """phe's ``_raw_add``: the product mod n²."""
        nsq = self.phe_key.nsquare
        return [gmpy2.mpz(mulmod(int(x), int(y), nsq)) for x, y in zip(a, b, strict=True)]

    def raw_add_plain(self, a: Sequence[Mpz], plaintexts: Sequence[Mpz]) -> list[Mpz]:
        """phe's ``_add_encoded``: multiply by the encryption of m with obfuscator 1."""
        key, nsq = self.phe_key, self.phe_key.nsquare
        return [
            gmpy2.mpz(mulmod(int(c), key.raw_encrypt(int(m), r_value=1), nsq))
            for c, m in zip(a, plaintexts, strict=True)
        ]

    def raw_mul(self, a: Sequence[Mpz], scalars: Sequence[int]) -> list[Mpz]:
        """phe's ``_raw_mul`` per element; negative scalars through the inverse of c."""
        return [self._scalar_power(int(c), int(k)) for c, k in zip(a, scalars, strict=True)]

    def raw_dot(self, a: Sequence[Mpz], matrix: Sequence[Sequence[int]]) -> list[Mpz]:
        """Per column, Σ_i c_i·x_ij the way phe sums ``EncryptedNumber * scalar`` terms."""
        width = len(matrix[0]) if matrix else 0
        nsq = self.phe_key.nsquare
        bases = [int(c) for c in a]
        out: list[Mpz] = []
        for j in range(width):
            acc = 1
            for c, row in zip(bases, matrix, strict=True):
                acc = mulmod(acc, int(self._scalar_power(c, int(row[j]))), nsq)
            out.append(gmpy2.mpz(acc))
        return out

    def raw_rerandomize(self, a: Sequence[Mpz]) -> list[Mpz]:
        """phe's ``obfuscate``: multiply by r^n for a fresh r < n."""
        key, n, nsq = self.phe_key, self.phe_key.n, self.phe_key.nsquare
        return [gmpy2.mpz(mulmod(int(c), powmod(key.get_random_lt_n(), n, nsq), nsq)) for c in a]


class PhePaillierPrivateKey(PaillierPrivateKey):
    """A Paillier private key that decrypts with python-paillier's CRT code."""

    public_key: PhePaillierPublicKey

    def __init__(self, public_key: PhePaillierPublicKey, p: int, q: int) -> None:
        super().__init__(public_key, p, q)
        self.phe_key = phe_paillier.PaillierPrivateKey(public_key.phe_key, int(p), int(q))

    def owner_public_key(self) -> PhePaillierPublicKey:
        """The public key itself: phe has no CRT encryption, its owner encrypts like anyone."""
        return self.public_key

    def raw_decrypt(self, ciphertexts: Sequence[Mpz]) -> list[Mpz]:
        """phe's ``raw_decrypt`` per element, in this process (the worker pool is not used)."""
        decrypt = self.phe_key.raw_decrypt
        return [gmpy2.mpz(decrypt(int(c))) for c in ciphertexts]


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown crypto backend {backend!r}; use one of {', '.join(BACKENDS)}")


def with_backend(key: PublicKey, backend: Backend) -> PublicKey:
    """``key`` computed by ``backend``: an equal key (same scheme and n), possibly a new object.

    A key already on the requested backend is returned as is. ``"phe"`` implements Paillier
    only; any other scheme raises ValueError.
    """
    _check_backend(backend)
    if backend == "fedloom":
        if isinstance(key, PhePaillierPublicKey):
            return PaillierPublicKey(key.n)
        return key
    if isinstance(key, PhePaillierPublicKey):
        return key
    if isinstance(key, PaillierPublicKey):
        return PhePaillierPublicKey(key.n)
    raise ValueError(
        f"crypto backend 'phe' (python-paillier) implements Paillier only; "
        f"this key's scheme is {key.scheme!r}: use backend 'fedloom'"
    )


def private_key_with_backend(key: PrivateKey, backend: Backend) -> PrivateKey:
    """The private-key counterpart of :func:`with_backend` (its public key converts too)."""
    _check_backend(backend)
    if backend == "fedloom":
        if isinstance(key, PhePaillierPrivateKey):
            return PaillierPrivateKey(PaillierPublicKey(key.public_key.n), key.p, key.q)
        return key
    if isinstance(key, PhePaillierPrivateKey):
        return key
    if isinstance(key, PaillierPrivateKey):
        return PhePaillierPrivateKey(PhePaillierPublicKey(key.public_key.n), key.p, key.q)
    raise ValueError(
        f"crypto backend 'phe' (python-paillier) implements Paillier only; "
        f"this key's scheme is {key.public_key.scheme!r}: use backend 'fedloom'"
    )


def generate_phe_keypair(key_length: int) -> tuple[PhePaillierPublicKey, PhePaillierPrivateKey]:
    """A key pair generated by python-paillier itself (``phe.generate_paillier_keypair``)."""
    public, private = phe_paillier.generate_paillier_keypair(n_length=key_length)
    fedloom_public = PhePaillierPublicKey(public.n)
    return fedloom_public, PhePaillierPrivateKey(fedloom_public, private.p, private.q)
