"""Optional native engine for fixed-base products and gradient products, with a gmpy2 fallback.

``fedloom.crypto._ifma`` is a C extension (built by ``pip install -e .`` when a compiler is
available) that multiplies eight numbers at once with AVX-512 IFMA. Two uses:

- :func:`native_fixed_base` returns an engine for a
  :class:`~fedloom.crypto.randomness.FixedBaseTable` (DJN blinding factors, about 5× faster per
  factor than gmpy2 at a 4096-bit modulus), or ``None``; callers then keep using ``table.power``;
- :func:`native_column_products` computes the gradient product Π_i a_i^{x_ij} for eight
  columns j at once (about 4× faster than :func:`~fedloom.crypto.multiexp.signed_multi_exp`
  per column at a 4096-bit modulus), or returns ``None``; callers then use gmpy2.

Both give results identical to the gmpy2 paths. They are used when the extension is built, the
CPU supports it and the modulus fits; setting the environment variable ``FEDLOOM_NATIVE=0``
disables them.

The engine copies the table into C memory (in radix 2^52, about 1.25× the size of the gmpy2
table), once per table: engines are cached per table object and freed with it.
"""

from __future__ import annotations

import importlib
import os
import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, cast

import gmpy2
import numpy as np

from fedloom.crypto.cipher import Mpz
from fedloom.crypto.multiexp import signed_multi_exp

if TYPE_CHECKING:
    from fedloom.crypto.randomness import FixedBaseTable

ENV_SWITCH = "FEDLOOM_NATIVE"
"""Environment variable; ``0`` (or ``false``/``no``/``off``) disables the native engine."""


class _FixedBase(Protocol):
    """The C type ``fedloom.crypto._ifma.FixedBase``."""

    rows: int
    window: int

    def power(self, digits: bytes, count: int) -> list[int]: ...


class _IfmaModule(Protocol):
    """The C module ``fedloom.crypto._ifma``."""

    MAX_BITS: int
    MAX_WINDOW: int

    def supported(self) -> bool: ...

    def FixedBase(self, modulus: int, window: int, rows: Sequence[Sequence[Mpz]]) -> _FixedBase: ...

    MAX_THREADS: int

    def column_products(
        self, modulus: int, bases: Sequence[Mpz], exponents: bytes, columns: int, threads: int
    ) -> list[int]: ...


def _load() -> _IfmaModule | None:
    try:
        return cast(_IfmaModule, importlib.import_module("fedloom.crypto._ifma"))
    except ImportError:
        return None


_IFMA = _load()


def enabled() -> bool:
    """Whether the native engine can be used here: built, supported by the CPU, not disabled."""
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return _IFMA is not None and _IFMA.supported()


class NativeFixedBase:
    """Computes ``base_table.power(e)`` for many exponents at once in C (AVX-512 IFMA)."""

    def __init__(self, engine: _FixedBase) -> None:
        self._engine = engine
        self.window = engine.window
        self.rows = engine.rows
        self.exponent_bits = self.rows * self.window
        """Exponents must be below 2**exponent_bits (rows × window)."""

    def digits(self, exponents: Sequence[int]) -> bytes:
        """The engine's digit layout: per exponent, its ``rows`` w-bit digits as uint16 LE."""
        count, rows, w = len(exponents), self.rows, self.window
        total = self.exponent_bits
        for e in exponents:
            if e < 0 or e.bit_length() > total:
                raise ValueError(f"exponent out of range: needs 0 <= e < 2**{total}")
        # Digit i occupies bits [i·w, i·w + w): read the 3 bytes from byte i·w // 8 on (w <= 16
        # plus a shift <= 7 fits in 24 bits), shift and mask, for all exponents at once.
        nbytes = (total + 7) // 8 + 2
        raw = b"".join(int(e).to_bytes(nbytes, "little") for e in exponents)
        octets = np.frombuffer(raw, dtype=np.uint8).reshape(count, nbytes).astype(np.uint32)
        starts = np.arange(rows, dtype=np.int64) * w
        first = starts // 8
        words = octets[:, first] | (octets[:, first + 1] << 8) | (octets[:, first + 2] << 16)
        values = (words >> (starts % 8).astype(np.uint32)) & np.uint32((1 << w) - 1)
        return bytes(values.astype("<u2").tobytes())

    def powers(self, exponents: Sequence[int]) -> list[Mpz]:
        """``[table.power(e) for e in exponents]``, computed eight at a time without the GIL."""
        if not exponents:
            return []
        values = self._engine.power(self.digits(exponents), len(exponents))
        return [gmpy2.mpz(v) for v in values]


_ENGINES: weakref.WeakKeyDictionary[FixedBaseTable, NativeFixedBase | None] = (
    weakref.WeakKeyDictionary()
)
_ENGINES_LOCK = threading.Lock()


def native_fixed_base(base_table: FixedBaseTable) -> NativeFixedBase | None:
    """The native engine for ``base_table`` (built once, then cached), or ``None`` to use gmpy2.

    ``None`` when the extension is not built, the CPU lacks AVX-512 IFMA, ``FEDLOOM_NATIVE=0``,
    or the table does not fit the engine (modulus over 4096 bits, window over 16). The first
    call for a table copies it into C (about 0.9 s for a 12-bit table at a 4096-bit modulus).
    """
    if not enabled() or _IFMA is None:
        return None
    with _ENGINES_LOCK:
        if base_table in _ENGINES:
            return _ENGINES[base_table]
        modulus = int(base_table.modulus)
        engine: NativeFixedBase | None = None
        if (
            modulus.bit_length() <= _IFMA.MAX_BITS
            and modulus % 2 == 1
            and 1 <= base_table.window <= _IFMA.MAX_WINDOW
            and base_table.rows
        ):
            engine = NativeFixedBase(_IFMA.FixedBase(modulus, base_table.window, base_table.rows))
        _ENGINES[base_table] = engine
        return engine


LANES = 8
"""Columns the engine computes at once (one per 64-bit lane of an AVX-512 register)."""


def _int64_matrix(matrix: object) -> np.ndarray | None:
    """``matrix`` as a 2-D int64 array, or ``None`` when it is not an integer matrix whose
    entries all fit in int64 (ragged, floats, objects such as mpz, or integers of 64+ bits)."""
    try:
        array = np.asarray(matrix)
    except (ValueError, TypeError):  # ragged rows
        return None
    if array.ndim != 2 or array.dtype.kind not in "biu":
        return None
    if array.dtype.kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
        return None
    return array.astype(np.int64, copy=False)


def _products(
    bases: Sequence[Mpz], exponents: np.ndarray, modulus: Mpz, min_columns: int, threads: int
) -> list[Mpz] | None:
    """Gradient products for the N×m int64 ``exponents`` (row i belongs to ``bases[i]``)."""
    if _IFMA is None or not enabled():
        return None
    count, width = exponents.shape
    m = gmpy2.mpz(modulus)
    if count != len(bases) or m < 3 or m % 2 == 0 or m.bit_length() > _IFMA.MAX_BITS:
        return None
    if width < max(min_columns, 1):
        return None
    # A last group of fewer than `min_columns` columns would leave most lanes idle, where gmpy2
    # is faster on one core: those columns take the gmpy2 path. With several threads the
    # engine shares that group's rows among them, which beats one core of gmpy2.
    lone = width % LANES if 0 < width % LANES < min_columns and threads == 1 else 0
    native_width = width - lone
    reduced = [b if 0 <= b < m else b % m for b in bases]

    def with_gmpy2(j: int) -> Mpz:
        return signed_multi_exp(bases, [int(x) for x in exponents[:, j]], m)

    raw = _IFMA.column_products(
        int(m),
        reduced,
        np.ascontiguousarray(exponents[:, :native_width], dtype=np.int64).tobytes(),
        native_width,
        min(threads, _IFMA.MAX_THREADS),
    )
    out: list[Mpz] = []
    # The columns of a batch in the engine's offset form share their Q: invert it once.
    inverses: dict[int, Mpz | None] = {}
    for j in range(native_width):
        value, q = gmpy2.mpz(raw[2 * j]), raw[2 * j + 1]
        if q != 1:
            if q not in inverses:
                try:
                    inverses[q] = gmpy2.invert(gmpy2.mpz(q), m)
                except ZeroDivisionError:
                    inverses[q] = None
            inverse = inverses[q]
            if inverse is None:
                # A base shares a factor with the modulus: gmpy2's sign split decides, and
                # raises only where a negative exponent really needs the inverse.
                value = with_gmpy2(j)
            else:
                value = value * inverse % m
        out.append(value)
    out.extend(with_gmpy2(j) for j in range(native_width, width))
    return out


def native_column_products(
    a: Sequence[Mpz],
    matrix: Sequence[Sequence[int]],
    modulus: Mpz,
    *,
    min_columns: int = 2,
    threads: int = 1,
) -> list[Mpz] | None:
    """For each column j of the N×m ``matrix``, ``Π_i a_i^{x_ij} mod modulus``, or ``None``.

    Equal to ``[signed_multi_exp(a, column, modulus) for column in columns]``, computed eight
    columns at a time in C without the GIL, on ``threads`` threads (batches of columns, or
    ranges of rows where the batches do not divide evenly among them; the bases are converted
    once). ``None`` (use gmpy2) when the engine is unavailable or disabled, the modulus is even
    or over 4096 bits, the matrix is not an N×m integer matrix with int64 entries, or it has
    fewer than ``min_columns`` columns (one column alone runs faster on gmpy2). Raises
    ``ZeroDivisionError`` where signed_multi_exp does (a negative part that is not invertible).
    """
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    exponents = _int64_matrix(matrix)
    if exponents is None:
        return None
    return _products(a, exponents, modulus, min_columns, threads)
