"""Okamoto–Uchiyama encryption over n = p²·q, in the accelerated variant SecretFlow's HEU uses.

Key generation draws a prime t of 2λ bits (λ the target security level) and a secret prime
p = t·u + 1 of s = ⌈k/3⌉ bits, then a prime q so that n = p²·q has exactly k bits. With g
random in Z_n* such that g^(p−1) ≢ 1 (mod p²) and g' random in Z_n*, the public key is

    n,   G = g^u mod n,   H = g'^(n·u) mod n.

Z_{p²}* is cyclic of order p·(p − 1) = p·t·u. Hence modulo p²: H^t = g'^(n·u·t) = 1 because
p·t·u divides n·u·t; and G^t = g^(p−1) lies in the subgroup {1 + x·p} of order p, where
(1 + x·p)^m = 1 + m·x·p. A ciphertext c = G^m · H^r mod n therefore satisfies
c^t ≡ (G^t)^m (mod p²), and with L(y) = (y − 1)/p decryption is

    m = L(c^t mod p²) · L(G^t mod p²)^(−1) mod p,

one exponentiation by the short t modulo p² instead of by p − 1. The randomness r is a fresh
uniform integer of 2λ bits for every ciphertext: H has order t modulo p², and recovering r
from H^r by a generic (kangaroo / baby-step giant-step) search costs 2^λ.

Plaintexts are signed integers below 2^(s−2) in magnitude (s is public: it follows from k).
Only the holder of p can reduce modulo p, so :class:`OUPublicKey` narrows its codec to that
range, and masks must be statistical (a mask uniform in Z_n would wrap modulo the secret p).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

import gmpy2

from fedloom.crypto._groupops import column_products, release_gil, signed_powers
from fedloom.crypto.cipher import Mask, Mpz, PrivateKey, PublicKey
from fedloom.crypto.encoding import FixedPointCodec
from fedloom.crypto.parallel import MIN_PARALLEL, active_pool
from fedloom.crypto.randomness import FixedBaseTable, random_powers, shared_table

DEFAULT_OU_KEY_LENGTH = 2048
MIN_OU_KEY_LENGTH = 384
"""Smallest modulus accepted; anything under 1536 bits is for tests only."""


def security_bits(key_length: int) -> int:
    """λ, the security level (bits) the parameters of a ``key_length``-bit key aim for."""
    if key_length >= 3072:
        return 128
    if key_length >= 2048:
        return 112
    return 80


def prime_bits(key_length: int) -> int:
    """s = ⌈k/3⌉, the bit length of the secret prime p (public: it follows from k)."""
    return (key_length + 2) // 3


def randomness_bits(key_length: int) -> int:
    """Bits of t and of the randomness r: 2λ, capped at s/2 for test-sized keys."""
    return min(2 * security_bits(key_length), prime_bits(key_length) // 2)


def _pack(values: Sequence[int]) -> bytes:
    """Big-endian integers, each prefixed with its length as a u32."""
    out = bytearray()
    for value in values:
        raw = int(value).to_bytes((int(value).bit_length() + 7) // 8, "big")
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


def _unpack(data: bytes, count: int) -> list[int]:
    """Inverse of :func:`_pack` for exactly ``count`` integers; ValueError if malformed."""
    values, pos = [], 0
    for _ in range(count):
        if pos + 4 > len(data):
            raise ValueError("key body is truncated")
        size = int.from_bytes(data[pos : pos + 4], "big")
        pos += 4
        if pos + size > len(data):
            raise ValueError("key body is truncated")
        values.append(int.from_bytes(data[pos : pos + size], "big"))
        pos += size
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} trailing bytes after the key body")
    return values


class OUPublicKey(PublicKey):
    """An Okamoto–Uchiyama public key: the modulus n = p²·q and the bases G and H."""

    scheme = "ou"

    def __init__(self, n: int, g: int, h: int) -> None:
        """``g`` and ``h`` are G = g^u and H = g'^(n·u) mod n (see the module docstring)."""
        super().__init__(n)
        if self.n.bit_length() < MIN_OU_KEY_LENGTH or self.n % 2 == 0:
            raise ValueError(
                f"not a valid OU modulus (need an odd n of >= {MIN_OU_KEY_LENGTH} bits)"
            )
        self.g, self.h = gmpy2.mpz(g), gmpy2.mpz(h)
        for name, base in (("G", self.g), ("H", self.h)):
            if not 1 < base < self.n - 1 or gmpy2.gcd(base, self.n) != 1:
                raise ValueError(f"{name} is not a unit of Z_n other than ±1")
        self.plaintext_bits = prime_bits(self.key_length) - 2
        """Encoded plaintexts have magnitudes below 2**plaintext_bits."""
        self.randomness_bits = randomness_bits(self.key_length)
        """Bits of the fresh exponent r in every H^r."""
        self.codec = FixedPointCodec(self.n, max_int=(1 << self.plaintext_bits) - 1)

    @property
    def fingerprint(self) -> bytes:
        """16 bytes identifying this key on the wire: a hash of the scheme, n, G and H."""
        return hashlib.sha256(self.scheme.encode() + b"\0" + self.to_bytes()).digest()[:16]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OUPublicKey) and (self.n, self.g, self.h) == (
            other.n,
            other.g,
            other.h,
        )

    def __hash__(self) -> int:
        return hash((self.scheme, int(self.n)))

    @property
    def ciphertext_bytes(self) -> int:
        """Width of one ciphertext (an element of Z_n)."""
        return (self.key_length + 7) // 8

    def _blinding(self, count: int) -> list[Mpz]:
        """``count`` fresh factors H^r mod n, each with its own uniform r of 2λ bits."""
        if count == 0:
            return []
        bits = self.randomness_bits
        pool = active_pool()
        if pool is not None and count >= MIN_PARALLEL:
            return pool.powers(self.h, self.n, bits, count)
        return random_powers(self.h, self.n, bits, count)

    def prefetch_randomness(self, count: int) -> None:
        """Have the worker pool (if any) make factors H^r while this party waits."""
        pool = active_pool()
        if pool is not None and count >= MIN_PARALLEL:
            pool.prefetch_powers(self.h, self.n, self.randomness_bits, count)

    def _g_powers(self, plaintexts: Sequence[Mpz]) -> list[Mpz]:
        """G^m mod n per element of Z_n, reading m > n/2 as the negative m − n."""
        n, half, bits = self.n, self.n // 2, self.plaintext_bits
        positive: FixedBaseTable | None = None
        negative: FixedBaseTable | None = None
        out: list[Mpz] = []
        for m in plaintexts:
            signed = m - n if m > half else m
            if signed >= 0 and signed.bit_length() <= bits:
                if positive is None:
                    positive = shared_table(self.g, n, bits)
                out.append(positive.power(signed))
            elif signed < 0 and (-signed).bit_length() <= bits:
                if negative is None:
                    negative = shared_table(gmpy2.invert(self.g, n), n, bits)
                out.append(negative.power(-signed))
            else:  # outside the plaintext range: no table, and no valid result either
                out.append(gmpy2.powmod(self.g, signed, n))
        return out

    def raw_encrypt(self, plaintexts: Sequence[Mpz]) -> list[Mpz]:
        """``G^m · H^r mod n`` per element, with a fresh r each."""
        release_gil()
        n = self.n
        factors = self._blinding(len(plaintexts))
        return [gm * hr % n for gm, hr in zip(self._g_powers(plaintexts), factors, strict=True)]

    def raw_add(self, a: Sequence[Mpz], b: Sequence[Mpz]) -> list[Mpz]:
        """Ciphertext product mod n = plaintext sum."""
        n = self.n
        return [x * y % n for x, y in zip(a, b, strict=True)]

    def raw_add_plain(self, a: Sequence[Mpz], plaintexts: Sequence[Mpz]) -> list[Mpz]:
        """Multiply by ``G^m`` (the deterministic encryption of m) mod n."""
        n = self.n
        return [c * gm % n for c, gm in zip(a, self._g_powers(plaintexts), strict=True)]

    def raw_mul(self, a: Sequence[Mpz], scalars: Sequence[int]) -> list[Mpz]:
        """``c^k mod n``; negative k through the inverse of c."""
        return signed_powers(a, scalars, self.n)

    def raw_dot(self, a: Sequence[Mpz], matrix: Sequence[Sequence[int]]) -> list[Mpz]:
        """Column-wise ``Π_i c_i^{x_ij} mod n`` (bucket multi-exponentiation, worker pool)."""
        return column_products(a, matrix, self.n)

    def raw_rerandomize(self, a: Sequence[Mpz]) -> list[Mpz]:
        """Multiply each ciphertext by a fresh ``H^r``."""
        n = self.n
        return [c * hr % n for c, hr in zip(a, self._blinding(len(a)), strict=True)]

    def new_mask(self, size: int, bound_bits: int | None = None) -> Mask:
        """A statistical mask for values below 2**bound_bits; OU has no uniform masks.

        The plaintext space is Z_p with p secret, so a mask uniform in Z_n would wrap modulo p
        and could not be removed.
        """
        if bound_bits is None:
            raise ValueError("OU needs statistical masks: pass bound_bits")
        return super().new_mask(size, bound_bits=bound_bits)

    def to_bytes(self) -> bytes:
        """n, G and H, each length-prefixed."""
        return _pack([self.n, self.g, self.h])

    @classmethod
    def from_bytes(cls, data: bytes) -> OUPublicKey:
        """Inverse of :meth:`to_bytes`; ValueError for a malformed or invalid key."""
        n, g, h = _unpack(data, 3)
        return cls(n, g, h)


class OUPrivateKey(PrivateKey):
    """The secret primes p, q and the prime factor t of p − 1 that decryption exponentiates by."""

    public_key: OUPublicKey

    def __init__(self, public_key: OUPublicKey, p: int, q: int, t: int) -> None:
        """Check that (p, q, t) belongs to ``public_key``; ValueError if it does not."""
        self.p, self.q, self.t = gmpy2.mpz(p), gmpy2.mpz(q), gmpy2.mpz(t)
        p_, q_, t_ = self.p, self.q, self.t
        if p_ * p_ * q_ != public_key.n:
            raise ValueError("p²·q does not equal the public modulus")
        if p_.bit_length() != prime_bits(public_key.key_length):
            raise ValueError(f"p must have ⌈k/3⌉ = {prime_bits(public_key.key_length)} bits")
        if 3 * public_key.codec.max_int >= p_:
            # One addition of two valid plaintexts must decrypt to a detectable overflow.
            raise ValueError("p is below 3·2^(s−2): the plaintext range would not fit Z_p")
        if t_ < 2 or (p_ - 1) % t_ != 0:
            raise ValueError("t does not divide p − 1")
        if not all(gmpy2.is_prime(x) for x in (p_, q_, t_)):
            raise ValueError("p, q and t must be prime")
        self.public_key = public_key
        self.psquare = p_ * p_
        if gmpy2.powmod(public_key.h, t_, self.psquare) != 1:
            raise ValueError("H^t ≢ 1 (mod p²): H does not belong to this private key")
        gp = gmpy2.powmod(public_key.g, t_, self.psquare)
        if gp % p_ != 1 or gp == 1:
            raise ValueError("G^t is not of order p modulo p²: G does not belong to this key")
        self.gp_inv = gmpy2.invert((gp - 1) // p_, p_)
        """L(G^t mod p²)^(−1) mod p."""

    def raw_decrypt(self, ciphertexts: Sequence[Mpz]) -> list[Mpz]:
        """Decrypt to elements of Z_n (negative plaintexts as n − |m|)."""
        return self.local_decrypt(ciphertexts)

    def local_decrypt(self, ciphertexts: Sequence[Mpz]) -> list[Mpz]:
        """``m = L(c^t mod p²) · L(G^t mod p²)^(−1) mod p``, read as signed, then mod n."""
        release_gil()
        p, t, psq, inv, n = self.p, self.t, self.psquare, self.gp_inv, self.public_key.n
        half = p // 2
        out: list[Mpz] = []
        for c in ciphertexts:
            x = (gmpy2.powmod(c % psq, t, psq) - 1) // p * inv % p
            out.append((x - p) % n if x > half else x)
        return out

    def to_bytes(self) -> bytes:
        """n, G, H, p, q and t, each length-prefixed; for storing the key at its owner only."""
        pk = self.public_key
        return _pack([pk.n, pk.g, pk.h, self.p, self.q, self.t])

    @classmethod
    def from_bytes(cls, data: bytes) -> OUPrivateKey:
        """Inverse of :meth:`to_bytes`; ValueError for a malformed or inconsistent key."""
        n, g, h, p, q, t = _unpack(data, 6)
        return cls(OUPublicKey(n, g, h), p, q, t)


def _random_prime(bits: int) -> Mpz:
    """A uniform-ish prime of exactly ``bits`` bits."""
    while True:
        candidate = gmpy2.mpz(secrets.randbits(bits)) | (1 << (bits - 1)) | 1
        prime = gmpy2.next_prime(candidate)
        if prime.bit_length() == bits:
            return prime


def _secret_prime(t: Mpz, bits: int) -> Mpz:
    """A prime p = t·u + 1 in [3·2^(bits−2), 2^bits), so that 3·(2^(bits−2) − 1) < p."""
    low_u = -(-((3 << (bits - 2)) - 1) // t)
    high_u = ((1 << bits) - 2) // t
    while True:
        u = low_u + secrets.randbelow(high_u - low_u + 1)
        u += u & 1  # t·u + 1 odd needs u even
        if u <= high_u and gmpy2.is_prime(t * u + 1):
            return t * u + 1


def _cofactor_prime(psquare: Mpz, key_length: int) -> Mpz:
    """A prime q with p²·q of exactly ``key_length`` bits."""
    low = -(-(1 << (key_length - 1)) // psquare)
    high = ((1 << key_length) - 1) // psquare
    while True:
        q = gmpy2.next_prime(low + secrets.randbelow(high - low))
        if q <= high:
            return q


def _random_unit(n: Mpz) -> Mpz:
    """A uniform element of Z_n* other than 1."""
    while True:
        x = gmpy2.mpz(secrets.randbelow(int(n) - 2) + 2)
        if gmpy2.gcd(x, n) == 1:
            return x


def generate_ou_keypair(
    key_length: int = DEFAULT_OU_KEY_LENGTH,
) -> tuple[OUPublicKey, OUPrivateKey]:
    """Generate a key pair whose modulus n = p²·q has exactly ``key_length`` bits."""
    if key_length < MIN_OU_KEY_LENGTH or key_length % 2:
        raise ValueError(
            f"key_length must be an even number >= {MIN_OU_KEY_LENGTH}, got {key_length}"
        )
    release_gil()
    s = prime_bits(key_length)
    while True:
        t = _random_prime(randomness_bits(key_length))
        p = _secret_prime(t, s)
        psquare = p * p
        q = _cofactor_prime(psquare, key_length)
        if q in (p, t) or gmpy2.gcd(q, p - 1) != 1 or (q - 1) % p == 0:
            continue
        n, u = psquare * q, (p - 1) // t
        while True:
            g = _random_unit(n)
            gp = gmpy2.powmod(g, p - 1, psquare)
            if gp != 1 and gmpy2.powmod(gp, p, psquare) == 1:
                break
        h = gmpy2.powmod(_random_unit(n), n * u, n)
        public = OUPublicKey(n, gmpy2.powmod(g, u, n), h)
        return public, OUPrivateKey(public, p, q, t)
