"""Paillier encryption (g = n + 1) over gmpy2, with CRT decryption.

Encryption is ``c = (1 + m·n) · r^n mod n²`` with a fresh uniform ``r`` for every element;
decryption uses the CRT over p² and q². Negative scalars multiply through the modular inverse
of the ciphertext, computed once per ciphertext.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import gmpy2
from numpy.typing import ArrayLike

from fedloom.crypto._groupops import column_products, release_gil, signed_powers
from fedloom.crypto.cipher import CipherVector, Mpz, PrivateKey, PublicKey
from fedloom.crypto.encoding import DEFAULT_FRAC_BITS
from fedloom.crypto.parallel import MIN_PARALLEL, active_pool
from fedloom.crypto.randomness import (
    DEFAULT_RANDOMNESS,
    BlindingSource,
    OwnerBlindingSource,
    RandomnessMode,
)

DEFAULT_KEY_LENGTH = 2048
MIN_KEY_LENGTH = 256
"""Smallest modulus accepted; anything under 2048 bits is for tests and benchmarks only."""


class PaillierPublicKey(PublicKey):
    """A Paillier public key: the modulus n (generator fixed to n + 1)."""

    scheme = "paillier"

    def __init__(self, n: int, randomness: RandomnessMode = DEFAULT_RANDOMNESS) -> None:
        """``randomness`` picks how blinding factors are made (see fedloom.crypto.randomness)."""
        super().__init__(n)
        if self.n.bit_length() < MIN_KEY_LENGTH or self.n % 2 == 0:
            raise ValueError(
                f"not a valid Paillier modulus (need an odd n of >= {MIN_KEY_LENGTH} bits)"
            )
        self.nsquare = self.n * self.n
        self.blinding = BlindingSource(self.n, randomness)

    @property
    def ciphertext_bytes(self) -> int:
        """Width of one ciphertext (an element of Z_{n²})."""
        return (int(self.nsquare.bit_length()) + 7) // 8

    def _random_factors(self, count: int) -> list[Mpz]:
        """``count`` fresh blinding factors r^n mod n²."""
        return self.blinding.factors(count)

    def prefetch_randomness(self, count: int) -> None:
        """Have the worker pool (if any) make blinding factors while this party waits."""
        self.blinding.prefetch(count)

    def raw_encrypt(self, plaintexts: Sequence[Mpz]) -> list[Mpz]:
        """``(1 + m·n)·r^n mod n²`` per element, as ``r + n·(m·r mod n)`` (a third cheaper)."""
        n, nsq = self.n, self.nsquare
        factors = self._random_factors(len(plaintexts))
        return [(r + n * (m * r % n)) % nsq for m, r in zip(plaintexts, factors, strict=True)]

    def raw_add(self, a: Sequence[Mpz], b: Sequence[Mpz]) -> list[Mpz]:
        """Ciphertext product mod n² = plaintext sum."""
        nsq = self.nsquare
        return [x * y % nsq for x, y in zip(a, b, strict=True)]

    def raw_add_plain(self, a: Sequence[Mpz], plaintexts: Sequence[Mpz]) -> list[Mpz]:
        """Multiply by ``1 + m·n`` (the deterministic encryption of m) mod n²."""
        n, nsq = self.n, self.nsquare
        return [c * (1 + m * n) % nsq for c, m in zip(a, plaintexts, strict=True)]

    def raw_mul(self, a: Sequence[Mpz], scalars: Sequence[int]) -> list[Mpz]:
        """``c^k mod n²``; negative k through the inverse of c."""
        return signed_powers(a, scalars, self.nsquare)

    def raw_dot(self, a: Sequence[Mpz], matrix: Sequence[Sequence[int]]) -> list[Mpz]:
        """Column-wise ``Π_i c_i^{x_ij} mod n²`` (bucket multi-exponentiation, worker pool)."""
        return column_products(a, matrix, self.nsquare)

    def raw_rerandomize(self, a: Sequence[Mpz]) -> list[Mpz]:
        """Multiply each ciphertext by a fresh ``r^n``."""
        nsq = self.nsquare
        factors = self._random_factors(len(a))
        return [c * r % nsq for c, r in zip(a, factors, strict=True)]

    def to_bytes(self) -> bytes:
        """Big-endian n."""
        return int(self.n).to_bytes((self.key_length + 7) // 8, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> PaillierPublicKey:
        """Inverse of :meth:`to_bytes`."""
        return cls(int.from_bytes(data, "big"))


class PaillierPrivateKey(PrivateKey):
    """The factors p, q of n, with the constants CRT decryption needs."""

    def __init__(self, public_key: PaillierPublicKey, p: int, q: int) -> None:
        if gmpy2.mpz(p) * gmpy2.mpz(q) != public_key.n:
            raise ValueError("p·q does not equal the public modulus")
        self.public_key = public_key
        self.p, self.q = (gmpy2.mpz(p), gmpy2.mpz(q)) if p < q else (gmpy2.mpz(q), gmpy2.mpz(p))
        self.psquare, self.qsquare = self.p * self.p, self.q * self.q
        self.hp = self._h(self.p, self.psquare)
        self.hq = self._h(self.q, self.qsquare)
        self.q_inv_p = gmpy2.invert(self.q, self.p)
        self._owner_key: PaillierPublicKey | None = None

    def owner_public_key(self) -> PaillierPublicKey:
        """This key pair's public key, encrypting through the CRT (for use by the owner only).

        It equals the public key (same scheme and n), so its ciphertexts mix with everyone
        else's; serialising it writes n only. Its blinding factors are ~1.3× cheaper.
        """
        if self._owner_key is None:
            public = self.public_key
            assert isinstance(public, PaillierPublicKey)
            owner = PaillierPublicKey(public.n, public.blinding.mode)
            owner.blinding = OwnerBlindingSource(public.n, self.p, self.q, public.blinding.mode)
            self._owner_key = owner
        return self._owner_key

    def encrypt(self, values: ArrayLike, frac_bits: int = DEFAULT_FRAC_BITS) -> CipherVector:
        """Encrypt as the key owner: CRT encryption, same ciphertexts as the public key's."""
        return self.owner_public_key().encrypt(values, frac_bits)

    def _h(self, x: Mpz, xsquare: Mpz) -> Mpz:
        g = self.public_key.n + 1
        return gmpy2.invert((gmpy2.powmod(g, x - 1, xsquare) - 1) // x, x)

    def raw_decrypt(self, ciphertexts: Sequence[Mpz]) -> list[Mpz]:
        """CRT decryption, over the worker pool for long vectors."""
        pool = active_pool()
        if pool is not None and len(ciphertexts) >= MIN_PARALLEL:
            return pool.decrypt(self.p, self.q, ciphertexts)
        return self.local_decrypt(ciphertexts)

    def local_decrypt(self, ciphertexts: Sequence[Mpz]) -> list[Mpz]:
        """CRT decryption: m_p, m_q from c^(p-1) mod p² and c^(q-1) mod q², then recombine."""
        release_gil()
        p, q, psq, qsq = self.p, self.q, self.psquare, self.qsquare
        out: list[Mpz] = []
        for c in ciphertexts:
            mp = (gmpy2.powmod(c, p - 1, psq) - 1) // p * self.hp % p
            mq = (gmpy2.powmod(c, q - 1, qsq) - 1) // q * self.hq % q
            out.append(mq + ((mp - mq) * self.q_inv_p % p) * q)
        return out

    def to_bytes(self) -> bytes:
        """p and q, each length-prefixed; for storing the key at its owner only."""
        parts = [int(x).to_bytes((int(x.bit_length()) + 7) // 8, "big") for x in (self.p, self.q)]
        return b"".join(len(b).to_bytes(4, "big") + b for b in parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> PaillierPrivateKey:
        """Inverse of :meth:`to_bytes`."""
        lp = int.from_bytes(data[:4], "big")
        p = int.from_bytes(data[4 : 4 + lp], "big")
        lq = int.from_bytes(data[4 + lp : 8 + lp], "big")
        q = int.from_bytes(data[8 + lp : 8 + lp + lq], "big")
        return cls(PaillierPublicKey(p * q), p, q)


def _random_prime(bits: int) -> Mpz:
    while True:
        candidate = gmpy2.mpz(secrets.randbits(bits)) | (3 << (bits - 2)) | 1
        prime = gmpy2.next_prime(candidate)
        if prime.bit_length() == bits:
            return prime


def generate_paillier_keypair(
    key_length: int = DEFAULT_KEY_LENGTH,
) -> tuple[PaillierPublicKey, PaillierPrivateKey]:
    """Generate a key pair whose modulus has exactly ``key_length`` bits."""
    if key_length < MIN_KEY_LENGTH or key_length % 2:
        raise ValueError(f"key_length must be an even number >= {MIN_KEY_LENGTH}, got {key_length}")
    half = key_length // 2
    while True:
        p, q = _random_prime(half), _random_prime(half)
        if p != q and (p * q).bit_length() == key_length:
            public = PaillierPublicKey(p * q)
            return public, PaillierPrivateKey(public, p, q)
