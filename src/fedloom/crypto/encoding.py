"""Fixed-point encoding of floats into the plaintext ring Z_n of an additive scheme.

A float ``v`` is stored as the integer ``round(v * 2**frac_bits)``; negative integers are
represented as ``n - |m|``. Only the lower and upper thirds of Z_n hold valid values (as in
``phe``): a decrypted integer in the middle third means a computation overflowed, and decoding
raises :class:`EncodingOverflowError` instead of returning a wrong number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import gmpy2
import numpy as np
from numpy.typing import ArrayLike, NDArray

DEFAULT_FRAC_BITS = 53
"""Fractional bits of encrypted values: the full precision of a float64 mantissa around 1.0."""

VALUE_BITS = 64
"""Integer bits assumed for every operand below 2**64 when bounding homomorphic results."""

_EXACT_FLOAT_LIMIT = float(2**53)
_MAX_FRAC_BITS = 960


class EncodingOverflowError(OverflowError):
    """A value does not fit the plaintext space, or a homomorphic result overflowed it."""


def as_float_vector(values: ArrayLike, what: str = "values") -> NDArray[np.float64]:
    """Coerce ``values`` to a finite 1-D float64 array, naming the first bad element if any."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a scalar or a 1-D array, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{what}[{int(bad[0])}] is {arr[bad[0]]}; only finite values encode")
    return arr


def float_to_scaled_ints(values: NDArray[np.float64], frac_bits: int) -> list[int]:
    """Return ``round(v * 2**frac_bits)`` for each finite ``v``, exactly, as Python ints."""
    if not 0 <= frac_bits <= _MAX_FRAC_BITS:
        raise ValueError(f"frac_bits must be in [0, {_MAX_FRAC_BITS}], got {frac_bits}")
    big = np.abs(values) >= _EXACT_FLOAT_LIMIT
    # Below 2**53 the product with a power of two is exact and rint rounds half to even;
    # at or above it every float is an integer already, so shifting it is exact.
    scaled = np.rint(np.where(big, 0.0, values) * float(2**frac_bits)).tolist()
    out = [int(x) for x in scaled]
    for i in np.flatnonzero(big).tolist():
        out[i] = int(values[i]) << frac_bits
    return out


class FixedPointCodec:
    """Encodes floats into Z_n and decodes them back, checking the valid range both ways."""

    def __init__(self, n: int, max_int: int | None = None) -> None:
        """``max_int`` narrows the range of |m| below the default (n − 1) // 3.

        A scheme whose plaintext space is smaller than Z_n needs it: Okamoto–Uchiyama decrypts
        modulo a secret p | n, so only magnitudes below a public bound under p/3 are valid.
        """
        self.n = gmpy2.mpz(n)
        # 3·max_int < n, so the sum of two valid values of one sign always lands in the
        # middle third, also when 3 divides n (as it may for the plaintext stand-in).
        widest = (self.n - 1) // 3
        if max_int is not None and not 1 <= max_int <= widest:
            raise ValueError(f"max_int must be in [1, (n - 1) // 3], got {max_int}")
        self.max_int = widest if max_int is None else gmpy2.mpz(max_int)

    def encode_ints(self, ints: Iterable[int]) -> list[gmpy2.mpz]:
        """Map signed integers into Z_n, raising if any magnitude exceeds ``max_int``."""
        n, max_int = self.n, self.max_int
        out: list[gmpy2.mpz] = []
        for i, m in enumerate(ints):
            if m > max_int or -m > max_int:
                raise EncodingOverflowError(
                    f"element {i}: encoded magnitude of {int(m).bit_length()} bits exceeds the "
                    f"plaintext range of this key ({int(max_int).bit_length()} bits)"
                )
            out.append(gmpy2.mpz(m) % n)
        return out

    def encode(self, values: ArrayLike, frac_bits: int) -> list[gmpy2.mpz]:
        """Encode floats with ``frac_bits`` fractional bits into elements of Z_n."""
        vec = as_float_vector(values)
        return self.encode_ints(float_to_scaled_ints(vec, frac_bits))

    def decode_ints(self, elements: Sequence[int]) -> list[int]:
        """Map elements of Z_n back to signed integers; the middle third means overflow."""
        n, max_int = self.n, self.max_int
        out: list[int] = []
        for i, m in enumerate(elements):
            if m <= max_int:
                out.append(int(m))
            elif m >= n - max_int:
                out.append(int(m - n))
            else:
                raise EncodingOverflowError(
                    f"element {i}: decrypted value lies outside the encodable range; a "
                    "homomorphic computation overflowed the plaintext space"
                )
        return out

    def decode(self, elements: Sequence[int], frac_bits: int) -> NDArray[np.float64]:
        """Decode elements of Z_n carrying ``frac_bits`` fractional bits back to floats."""
        denom = 1 << frac_bits
        try:
            return np.array([m / denom for m in self.decode_ints(elements)], dtype=np.float64)
        except OverflowError as exc:
            if isinstance(exc, EncodingOverflowError):
                raise
            raise EncodingOverflowError(f"decoded value does not fit a float64: {exc}") from exc
