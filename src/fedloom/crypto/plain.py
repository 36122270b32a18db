"""A plaintext stand-in for Paillier, for fast tests only.

It has Paillier's interface, fixed-point encoding, ring Z_n, overflow behaviour and masking
arithmetic, but a "ciphertext" is the plaintext element itself: no security whatsoever. Nothing
outside tests and explicit benchmark baselines should construct it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import gmpy2

from fedloom.crypto.cipher import Mpz, PrivateKey, PublicKey


class PlainPublicKey(PublicKey):
    """Public half of the stand-in: arithmetic in Z_n with identity encryption."""

    scheme = "plain"

    @property
    def ciphertext_bytes(self) -> int:
        """Width of one element of Z_n."""
        return (self.key_length + 7) // 8

    def raw_encrypt(self, plaintexts: Sequence[Mpz]) -> list[Mpz]:
        """Identity."""
        return list(plaintexts)

    def raw_add(self, a: Sequence[Mpz], b: Sequence[Mpz]) -> list[Mpz]:
        """Sum mod n."""
        n = self.n
        return [(x + y) % n for x, y in zip(a, b, strict=True)]

    def raw_add_plain(self, a: Sequence[Mpz], plaintexts: Sequence[Mpz]) -> list[Mpz]:
        """Sum mod n (a plaintext is its own "ciphertext" here)."""
        return self.raw_add(a, plaintexts)

    def raw_mul(self, a: Sequence[Mpz], scalars: Sequence[int]) -> list[Mpz]:
        """Product mod n."""
        n = self.n
        return [x * k % n for x, k in zip(a, scalars, strict=True)]

    def raw_dot(self, a: Sequence[Mpz], matrix: Sequence[Sequence[int]]) -> list[Mpz]:
        """Column sums of a_i·x_ij mod n."""
        n = self.n
        width = len(matrix[0]) if matrix else 0
        acc = [gmpy2.mpz(0)] * width
        for x, row in zip(a, matrix, strict=True):
            for j, k in enumerate(row):
                if k:
                    acc[j] += x * k
        return [v % n for v in acc]

    def raw_rerandomize(self, a: Sequence[Mpz]) -> list[Mpz]:
        """Identity: the stand-in has no randomness to refresh."""
        return list(a)

    def to_bytes(self) -> bytes:
        """Big-endian n."""
        return int(self.n).to_bytes((self.key_length + 7) // 8, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> PlainPublicKey:
        """Inverse of :meth:`to_bytes`."""
        return cls(int.from_bytes(data, "big"))


class PlainPrivateKey(PrivateKey):
    """Private half of the stand-in: decryption is the identity."""

    def __init__(self, public_key: PlainPublicKey) -> None:
        self.public_key = public_key

    def raw_decrypt(self, ciphertexts: Sequence[Mpz]) -> list[Mpz]:
        """Identity."""
        return list(ciphertexts)


def generate_plain_keypair(key_length: int = 2048) -> tuple[PlainPublicKey, PlainPrivateKey]:
    """A stand-in key pair whose ring Z_n has the size of a real key of ``key_length`` bits."""
    n = gmpy2.mpz(secrets.randbits(key_length)) | (1 << (key_length - 1)) | 1
    public = PlainPublicKey(n)
    return public, PlainPrivateKey(public)
