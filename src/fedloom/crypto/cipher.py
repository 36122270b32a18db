"""Scheme-independent encrypted vectors over an additively homomorphic public key.

:class:`CipherVector` holds one ciphertext per element plus the number of fractional bits its
plaintexts carry. Arithmetic delegates the group operations to the public key, so the same code
runs over real Paillier and over the plaintext stand-in used in fast tests.
"""

from __future__ import annotations

import hashlib
import secrets
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import gmpy2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from fedloom.crypto.encoding import (
    DEFAULT_FRAC_BITS,
    VALUE_BITS,
    EncodingOverflowError,
    FixedPointCodec,
    as_float_vector,
    float_to_scaled_ints,
)

Mpz: TypeAlias = gmpy2.mpz

STATISTICAL_SECURITY = 80
"""Statistical security parameter of bounded masks: masked values leak at most 2**-80."""


class KeyMismatchError(ValueError):
    """Two operands were encrypted under different keys, or a key cannot decrypt a vector."""


class PublicKey(ABC):
    """An additively homomorphic public key: encrypts and combines ciphertexts."""

    scheme: str
    """Wire name of the scheme ("paillier", "plain")."""

    def __init__(self, n: int) -> None:
        self.n = gmpy2.mpz(n)
        self.codec = FixedPointCodec(self.n)

    @property
    def key_length(self) -> int:
        """Bit length of the modulus n."""
        return int(self.n.bit_length())

    @property
    def fingerprint(self) -> bytes:
        """16 bytes identifying this key on the wire (a hash of scheme and modulus)."""
        nbytes = int(self.n).to_bytes((self.key_length + 7) // 8, "big")
        return hashlib.sha256(self.scheme.encode() + b"\0" + nbytes).digest()[:16]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and (self.scheme, self.n) == (other.scheme, other.n)

    def __hash__(self) -> int:
        return hash((self.scheme, int(self.n)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bits={self.key_length}, fp={self.fingerprint.hex()[:12]})"

    @property
    @abstractmethod
    def ciphertext_bytes(self) -> int:
        """Fixed width of one ciphertext on the wire."""

    @abstractmethod
    def raw_encrypt(self, plaintexts: Sequence[Mpz]) -> list[Mpz]:
        """Encrypt elements of Z_n with fresh randomness."""

    @abstractmethod
    def raw_add(self, a: Sequence[Mpz], b: Sequence[Mpz]) -> list[Mpz]:
        """Elementwise ciphertext addition."""

    @abstractmethod
    def raw_add_plain(self, a: Sequence[Mpz], plaintexts: Sequence[Mpz]) -> list[Mpz]:
        """Elementwise addition of plaintext elements of Z_n (keeps a's randomness)."""

    @abstractmethod
    def raw_mul(self, a: Sequence[Mpz], scalars: Sequence[int]) -> list[Mpz]:
        """Elementwise multiplication by signed integer scalars."""

    @abstractmethod
    def raw_dot(self, a: Sequence[Mpz], matrix: Sequence[Sequence[int]]) -> list[Mpz]:
        """For each column j of the N×m integer matrix, the ciphertext of Σ_i a_i·x_ij."""

    @abstractmethod
    def raw_rerandomize(self, a: Sequence[Mpz]) -> list[Mpz]:
        """Multiply in fresh encryptions of zero: same plaintexts, unlinkable ciphertexts."""

    @abstractmethod
    def to_bytes(self) -> bytes:
        """Serialise the public key (scheme-specific body; serde adds the scheme tag)."""

    def encrypt(self, values: ArrayLike, frac_bits: int = DEFAULT_FRAC_BITS) -> CipherVector:
        """Encrypt a float scalar or 1-D array with fresh randomness per element."""
        ints = float_to_scaled_ints(as_float_vector(values), frac_bits)
        encoded = self.codec.encode_ints(ints)
        bound = _magnitude_bits(ints, frac_bits)
        return CipherVector(self, self.raw_encrypt(encoded), frac_bits, bound)

    def prefetch_randomness(self, count: int) -> None:  # noqa: B027 - optional for a scheme
        """Prepare randomness for ``count`` future encryptions in the background, if possible."""

    def new_mask(self, size: int, bound_bits: int | None = None) -> Mask:
        """Draw a mask for ``size`` values; it never leaves the party that draws it.

        Without ``bound_bits`` each element is uniform in Z_n (perfect hiding; Paillier only).
        With it, the mask is statistical for values |v| < 2**bound_bits: each element is
        ``2**bound_bits + r`` with r uniform below ``2**(bound_bits + 1 + STATISTICAL_SECURITY)``,
        so masked values are non-negative, reveal v only with probability 2**-80, and stay small
        enough to be packed several to a plaintext (see fedloom.crypto.packing).
        """
        if bound_bits is None:
            n = int(self.n)
            return Mask(self, [gmpy2.mpz(secrets.randbelow(n)) for _ in range(size)])
        if bound_bits < 1:
            raise ValueError(f"bound_bits must be positive, got {bound_bits}")
        masked_bits = bound_bits + 2 + STATISTICAL_SECURITY
        limit = int(self.codec.max_int).bit_length() - 1
        if masked_bits > limit:
            raise EncodingOverflowError(
                f"a statistical mask for {bound_bits}-bit values needs {masked_bits} bits, the "
                f"plaintext range of this key holds {limit}"
            )
        offset, width = 1 << bound_bits, bound_bits + 1 + STATISTICAL_SECURITY
        elements = [gmpy2.mpz(offset + secrets.randbits(width)) for _ in range(size)]
        return Mask(self, elements, bound_bits)


class PrivateKey(ABC):
    """The decrypting half of a key pair; only the party that generated it holds it."""

    public_key: PublicKey

    @abstractmethod
    def raw_decrypt(self, ciphertexts: Sequence[Mpz]) -> list[Mpz]:
        """Decrypt to elements of Z_n."""

    def _check(self, vector: CipherVector) -> None:
        if vector.public_key != self.public_key:
            raise KeyMismatchError(
                f"vector encrypted under {vector.public_key!r}, this key is {self.public_key!r}"
            )

    def decrypt(self, vector: CipherVector) -> NDArray[np.float64]:
        """Decrypt and decode to floats; raises EncodingOverflowError on overflow."""
        self._check(vector)
        elements = self.raw_decrypt(vector.ciphertexts)
        return self.public_key.codec.decode(elements, vector.frac_bits)

    def decrypt_raw(self, vector: CipherVector) -> RawPlaintexts:
        """Decrypt without decoding: for masked values, which only the masker can decode."""
        self._check(vector)
        return RawPlaintexts(
            self.public_key, self.raw_decrypt(vector.ciphertexts), vector.frac_bits
        )


@dataclass(frozen=True)
class RawPlaintexts:
    """Decrypted but undecoded elements of Z_n, e.g. masked gradients sent back by the arbiter."""

    public_key: PublicKey
    elements: list[Mpz]
    frac_bits: int

    def __len__(self) -> int:
        return len(self.elements)


@dataclass(frozen=True)
class Mask:
    """Random plaintexts added to ciphertexts before someone else decrypts them.

    A *uniform* mask (``value_bits is None``) is uniform over Z_n, so the masked plaintext is
    uniform too: the decrypting party learns nothing (perfect hiding). A *statistical* mask
    hides values below ``2**value_bits`` up to a statistical distance of 2**-80 and keeps the
    masked values non-negative and below ``2**masked_bits``, which is what packing needs and the
    only kind a scheme with a secret plaintext modulus (Okamoto–Uchiyama) can use. Only the
    masking party can remove either.
    """

    public_key: PublicKey
    elements: list[Mpz]
    value_bits: int | None = None

    def __len__(self) -> int:
        return len(self.elements)

    @property
    def masked_bits(self) -> int | None:
        """Bits bounding every masked plaintext of a statistical mask (None when uniform)."""
        if self.value_bits is None:
            return None
        return self.value_bits + 2 + STATISTICAL_SECURITY

    def apply(self, vector: CipherVector) -> CipherVector:
        """Return ``vector`` with the mask added to each plaintext."""
        if vector.public_key != self.public_key or len(vector) != len(self):
            raise KeyMismatchError("mask and vector differ in key or length")
        if self.value_bits is not None and vector.bound_bits > self.value_bits:
            raise EncodingOverflowError(
                f"mask drawn for values below 2**{self.value_bits}, but the vector's values may "
                f"need {vector.bound_bits} bits; draw the mask with bound_bits=vector.bound_bits"
            )
        ciphertexts = self.public_key.raw_add_plain(vector.ciphertexts, self.elements)
        # A uniform mask leaves no usable bound, so no further arithmetic is allowed.
        bound = self.masked_bits or self.public_key.key_length
        return CipherVector(self.public_key, ciphertexts, vector.frac_bits, bound)

    def remove(self, raw: RawPlaintexts) -> NDArray[np.float64]:
        """Subtract the mask from decrypted masked values and decode them to floats."""
        if raw.public_key != self.public_key or len(raw) != len(self):
            raise KeyMismatchError("mask and decrypted values differ in key or length")
        n = self.public_key.n
        unmasked = [(m - r) % n for m, r in zip(raw.elements, self.elements, strict=True)]
        return self.public_key.codec.decode(unmasked, raw.frac_bits)


def _magnitude_bits(ints: Sequence[int], frac_bits: int) -> int:
    """Bits bounding |m| for encoded operands; never below frac_bits + VALUE_BITS.

    The floor keeps the bound (which travels with a vector) independent of the data for any
    magnitude under 2**VALUE_BITS; only larger values make it grow.
    """
    largest = max((abs(m) for m in ints), default=0)
    return max(int(largest).bit_length(), frac_bits + VALUE_BITS)


_ROWS_PER_EXACT_SUM = 2048
"""Rows of values below 2**52 whose int64 sum cannot overflow."""


def _scaled_rows(x: NDArray[np.float64], frac_bits: int) -> tuple[list[list[int]], list[int]]:
    """The rows of ``round(x·2**frac_bits)`` as ints, and the exact L1 norm of each column."""
    if frac_bits <= 52 and np.all(np.abs(x) < 2.0 ** (52 - frac_bits)):
        # Scaling by a power of two is exact below 2**52 and rint rounds half to even, as
        # float_to_scaled_ints does; int64 sums of 2048 such values cannot overflow.
        ints = np.rint(x * float(2**frac_bits)).astype(np.int64)
        magnitudes = np.abs(ints)
        l1 = [0] * x.shape[1]
        for start in range(0, x.shape[0], _ROWS_PER_EXACT_SUM):
            part = magnitudes[start : start + _ROWS_PER_EXACT_SUM].sum(axis=0).tolist()
            l1 = [a + int(b) for a, b in zip(l1, part, strict=True)]
        return ints.tolist(), l1
    rows = [float_to_scaled_ints(x[i], frac_bits) for i in range(x.shape[0])]
    return rows, [sum(abs(row[j]) for row in rows) for j in range(x.shape[1])]


def _broadcast_len(a: int, b: int) -> int:
    """Length of an elementwise result of 1-D operands of lengths a and b (numpy's rule)."""
    if a == b or b == 1:
        return a
    if a == 1:
        return b
    raise ValueError(f"length mismatch: {a} vs {b}")


class CipherVector:
    """A 1-D vector of ciphertexts under one public key, with its fixed-point scale.

    ``bound_bits`` is an upper bound on the bit length of every encoded plaintext |m|. Each
    operation derives the bound of its result and raises :class:`EncodingOverflowError` before
    computing anything that could leave the encodable range, so a homomorphic result can never
    wrap around modulo n into a wrong number.
    """

    __slots__ = ("bound_bits", "ciphertexts", "frac_bits", "public_key")

    # Make numpy defer to our reflected operators: without this, ``ndarray + vector`` (or
    # ``-``, ``*``) broadcasts elementwise and returns an object array of 1-element vectors.
    __array_ufunc__ = None

    def __init__(
        self,
        public_key: PublicKey,
        ciphertexts: list[Mpz],
        frac_bits: int,
        bound_bits: int | None = None,
    ) -> None:
        self.public_key = public_key
        self.ciphertexts = ciphertexts
        self.frac_bits = frac_bits
        # Unknown provenance means unknown magnitude: no arithmetic until re-encrypted.
        self.bound_bits = public_key.key_length if bound_bits is None else bound_bits

    def _result(self, ciphertexts: list[Mpz], frac_bits: int, bound_bits: int) -> CipherVector:
        """A derived vector, after checking its bound fits the plaintext range."""
        limit = int(self.public_key.codec.max_int).bit_length() - 1
        if bound_bits > limit:
            raise EncodingOverflowError(
                f"result could need {bound_bits} bits, the plaintext range of this key holds "
                f"{limit}; the computation would overflow"
            )
        return CipherVector(self.public_key, ciphertexts, frac_bits, bound_bits)

    def __len__(self) -> int:
        return len(self.ciphertexts)

    def __repr__(self) -> str:
        return f"CipherVector(len={len(self)}, frac_bits={self.frac_bits}, key={self.public_key!r})"

    def _same_key(self, other: CipherVector) -> None:
        if other.public_key != self.public_key:
            raise KeyMismatchError("cannot combine ciphertexts encrypted under different keys")
        _broadcast_len(len(self), len(other))

    def _rescaled(self, frac_bits: int) -> CipherVector:
        """The same values carrying more fractional bits (a multiplication by 2**k)."""
        shift = frac_bits - self.frac_bits
        if shift == 0:
            return self
        scalars = [1 << shift] * len(self)
        shifted = self.public_key.raw_mul(self.ciphertexts, scalars)
        return self._result(shifted, frac_bits, self.bound_bits + shift)

    def _broadcast(self, size: int) -> list[Mpz]:
        return self.ciphertexts * size if len(self) == 1 and size != 1 else self.ciphertexts

    def __add__(self, other: CipherVector | ArrayLike) -> CipherVector:
        if isinstance(other, CipherVector):
            self._same_key(other)
            bits = max(self.frac_bits, other.frac_bits)
            a, b = self._rescaled(bits), other._rescaled(bits)
            size = _broadcast_len(len(a), len(b))
            bound = max(a.bound_bits, b.bound_bits) + 1
            a._result([], bits, bound)
            summed = self.public_key.raw_add(a._broadcast(size), b._broadcast(size))
            return a._result(summed, bits, bound)
        plain = as_float_vector(other, "plaintext operand")
        size = _broadcast_len(len(self), plain.size)
        ints = float_to_scaled_ints(np.broadcast_to(plain, (size,)).copy(), self.frac_bits)
        bound = max(self.bound_bits, _magnitude_bits(ints, self.frac_bits)) + 1
        self._result([], self.frac_bits, bound)
        encoded = self.public_key.codec.encode_ints(ints)
        summed = self.public_key.raw_add_plain(self._broadcast(size), encoded)
        return self._result(summed, self.frac_bits, bound)

    __radd__ = __add__

    def __neg__(self) -> CipherVector:
        minus = self.public_key.raw_mul(self.ciphertexts, [-1] * len(self))
        return self._result(minus, self.frac_bits, self.bound_bits)

    def __sub__(self, other: CipherVector | ArrayLike) -> CipherVector:
        if isinstance(other, CipherVector):
            return self + (-other)
        return self + (-as_float_vector(other, "plaintext operand"))

    def __rsub__(self, other: ArrayLike) -> CipherVector:
        return (-self) + other

    def mul(self, scalars: ArrayLike, frac_bits: int = DEFAULT_FRAC_BITS) -> CipherVector:
        """Multiply by a plaintext scalar or elementwise by a vector encoded with ``frac_bits``."""
        plain = as_float_vector(scalars, "plaintext multiplier")
        size = _broadcast_len(len(self), plain.size)
        ints = float_to_scaled_ints(np.broadcast_to(plain, (size,)).copy(), frac_bits)
        bound = self.bound_bits + _magnitude_bits(ints, frac_bits)
        self._result([], self.frac_bits + frac_bits, bound)
        product = self.public_key.raw_mul(self._broadcast(size), ints)
        return self._result(product, self.frac_bits + frac_bits, bound)

    def __mul__(self, scalars: ArrayLike) -> CipherVector:
        return self.mul(scalars)

    __rmul__ = __mul__

    def dot(self, matrix: ArrayLike, frac_bits: int = DEFAULT_FRAC_BITS) -> CipherVector:
        """The gradient product: for each column j of the N×m matrix X, [[Σ_i d_i·X_ij]]."""
        x = np.asarray(matrix, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != len(self):
            raise ValueError(f"matrix must have shape ({len(self)}, m), got {x.shape}")
        if not np.all(np.isfinite(x)):
            row, col = np.argwhere(~np.isfinite(x))[0]
            raise ValueError(f"matrix[{row}, {col}] is not finite")
        if x.shape[0] == 0:
            # raw_dot cannot see the width of a matrix without rows: every column sums to 0.
            return self.public_key.encrypt(np.zeros(x.shape[1]), self.frac_bits + frac_bits)
        rows, column_l1 = _scaled_rows(x, frac_bits)
        floor = frac_bits + VALUE_BITS + (len(rows) - 1).bit_length()
        bound = self.bound_bits + max(_magnitude_bits(column_l1, frac_bits), floor)
        self._result([], self.frac_bits + frac_bits, bound)
        result = self.public_key.raw_dot(self.ciphertexts, rows)
        return self._result(result, self.frac_bits + frac_bits, bound)

    def sum(self) -> CipherVector:
        """The encrypted sum of all elements, as a vector of length 1."""
        if len(self) == 0:
            return self.public_key.encrypt(0.0, self.frac_bits)
        bound = self.bound_bits + (len(self) - 1).bit_length()
        self._result([], self.frac_bits, bound)
        total = self.public_key.raw_dot(self.ciphertexts, [[1]] * len(self))
        return self._result(total, self.frac_bits, bound)

    def rerandomize(self) -> CipherVector:
        """Fresh ciphertexts of the same plaintexts, unlinkable to this vector."""
        fresh = self.public_key.raw_rerandomize(self.ciphertexts)
        return CipherVector(self.public_key, fresh, self.frac_bits, self.bound_bits)

    def take(self, indices: ArrayLike) -> CipherVector:
        """The sub-vector at the given integer positions (e.g. one mini-batch)."""
        idx = np.asarray(indices, dtype=np.int64)
        picked = [self.ciphertexts[i] for i in idx.tolist()]
        return CipherVector(self.public_key, picked, self.frac_bits, self.bound_bits)

    @staticmethod
    def concat(parts: Sequence[CipherVector]) -> CipherVector:
        """Concatenate vectors under the same key, aligning their scales."""
        if not parts:
            raise ValueError("concat needs at least one vector")
        bits = max(p.frac_bits for p in parts)
        for p in parts[1:]:
            if p.public_key != parts[0].public_key:
                raise KeyMismatchError("cannot concatenate vectors under different keys")
        aligned = [p._rescaled(bits) for p in parts]
        out: list[Mpz] = []
        for p in aligned:
            out.extend(p.ciphertexts)
        bound = max(p.bound_bits for p in aligned)
        return CipherVector(parts[0].public_key, out, bits, bound)
