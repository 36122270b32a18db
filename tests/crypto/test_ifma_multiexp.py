"""Column-wise multi-exponentiation in C (fedloom.crypto._ifma.column_products) against gmpy2."""

from __future__ import annotations

import random
from typing import Any

import gmpy2
import numpy as np
import pytest

from fedloom.crypto import _groupops, native, parallel
from fedloom.crypto.multiexp import multi_exp, signed_multi_exp

pytestmark = pytest.mark.unit


def _group_modulus(bits: int, rng: random.Random) -> int:
    """An odd modulus of exactly ``bits`` bits that is a product of two primes (so almost every
    base is invertible), like Paillier's n² or Okamoto–Uchiyama's n."""
    half = bits // 2
    while True:
        p = int(gmpy2.next_prime(rng.getrandbits(half) | (1 << (half - 1))))
        q = int(gmpy2.next_prime(rng.getrandbits(bits - half) | (1 << (bits - half - 1))))
        if (p * q).bit_length() == bits and p != q:
            return p * q


_EXPONENT_KINDS = (0, 1, -1, 2**40, -(2**40))


def _matrix(count: int, width: int, rng: random.Random) -> list[list[int]]:
    """Signed exponents: 0, ±1, ±2^40 and random ones up to 2^40; column 0 all zero, column 1
    all negative, column 2 all ±1 (where they exist)."""
    rows = []
    for _ in range(count):
        row = []
        for j in range(width):
            if j == 0 and width > 1:
                row.append(0)
            elif j == 1:
                row.append(-rng.randrange(1, 2**28))
            elif j == 2:
                row.append(rng.choice((1, -1)))
            else:
                pick = rng.randrange(8)
                if pick < len(_EXPONENT_KINDS):
                    row.append(_EXPONENT_KINDS[pick])
                else:
                    row.append(rng.randrange(-(2**40), 2**40 + 1))
        rows.append(row)
    return rows


def _bases(count: int, modulus: int, rng: random.Random) -> list[Any]:
    bases = [gmpy2.mpz(rng.randrange(2, modulus)) for _ in range(count)]
    if count >= 2:
        bases[0], bases[1] = gmpy2.mpz(1), gmpy2.mpz(modulus - 1)
    return bases


def _reference(bases: list[Any], matrix: list[list[int]], modulus: int) -> list[Any]:
    width = len(matrix[0]) if matrix else 0
    m = gmpy2.mpz(modulus)
    return [signed_multi_exp(bases, [row[j] for row in matrix], m) for j in range(width)]


@pytest.mark.parametrize("bits", [1024, 2048, 4096])
@pytest.mark.parametrize("count", [1, 7, 8, 9, 300])
@pytest.mark.parametrize("width", [1, 3, 8, 9, 14])
def test_native_equals_signed_multi_exp(ifma: Any, bits: int, count: int, width: int) -> None:
    rng = random.Random(bits * 10_000 + count * 100 + width)
    modulus = _group_modulus(bits, rng)
    bases = _bases(count, modulus, rng)
    matrix = _matrix(count, width, rng)
    got = native.native_column_products(bases, matrix, gmpy2.mpz(modulus), min_columns=1)
    assert got == _reference(bases, matrix, modulus)
    assert got is not None and all(isinstance(x, type(gmpy2.mpz(0))) for x in got)


def _raw_expected(bases: list[int], matrix: list[list[int]], modulus: int) -> list[int]:
    """column_products' documented [P_0, Q_0, ...]: per batch of eight columns, Q = 1 without
    negative exponents, the offset form up to 62 bits, the sign split beyond."""
    m = gmpy2.mpz(modulus)
    width = len(matrix[0]) if matrix else 0
    mp = [gmpy2.mpz(b) for b in bases]

    def power_product(pairs: list[tuple[Any, int]]) -> int:
        return int(multi_exp([b for b, _ in pairs], [e for _, e in pairs], m))

    out: list[int] = []
    for c0 in range(0, width, 8):
        cols = range(c0, min(c0 + 8, width))
        values = [row[j] for row in matrix for j in cols]
        bits = max((abs(v).bit_length() for v in values), default=0)
        negative = any(v < 0 for v in values)
        for j in cols:
            column = [row[j] for row in matrix]
            if not negative:
                out += [power_product(list(zip(mp, column, strict=True))), 1]
            elif bits <= 62:
                lifted = [x + 2**bits for x in column]
                q = int(gmpy2.powmod(multi_exp(mp, [1] * len(mp), m), 2**bits, m))
                out += [power_product(list(zip(mp, lifted, strict=True))), q]
            else:
                pos = [(b, x) for b, x in zip(mp, column, strict=True) if x > 0]
                neg = [(b, -x) for b, x in zip(mp, column, strict=True) if x < 0]
                out += [power_product(pos), power_product(neg)]
    return out


@pytest.mark.parametrize("bits", [3, 52, 53, 104, 105, 2047, 4095, 4096])
@pytest.mark.parametrize("exponents", ["int64 limits", "signed 40-bit", "non-negative"])
def test_raw_products_at_odd_sizes(ifma: Any, bits: int, exponents: str) -> None:
    """The raw [P_0, Q_0, ...] output for any odd modulus (not nec. invertible bases: 0, 1,
    m − 1, random), in each of the three forms: exponents up to the int64 limits (the sign
    split), signed ones of up to 40 bits (the offset form) and non-negative ones."""
    rng = random.Random(bits * 10 + len(exponents))
    modulus = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
    count, width = 12, 10
    bases = [0, 1, modulus - 1, *(rng.randrange(modulus) for _ in range(count - 3))]
    extremes = (0, 1, -1, 2**63 - 1, -(2**63), 2**40, -(2**40))

    def draw() -> int:
        if exponents == "int64 limits":
            return rng.choice(extremes) if rng.random() < 0.5 else rng.randrange(-(2**62), 2**62)
        if exponents == "signed 40-bit":
            return rng.choice((0, 1, -1, 2**40 - 1, -(2**40 - 1), rng.randrange(-(2**40), 2**40)))
        return rng.choice((0, 1, 2**40, rng.randrange(2**40)))

    matrix = [[draw() for _ in range(width)] for _ in range(count)]
    raw = ifma.column_products(modulus, bases, np.array(matrix, dtype=np.int64).tobytes(), width)
    assert raw == _raw_expected(bases, matrix, modulus)


def test_offset_form_at_the_62_bit_edge(ifma: Any) -> None:
    """|x| < 2^62 still takes the offset form (x + 2^62 fits in int64), 2^62 the sign split;
    both divide out to the same products as gmpy2."""
    rng = random.Random(53)
    modulus = _group_modulus(512, rng)
    bases = _bases(9, modulus, rng)
    for top in (2**62 - 1, 2**62):
        matrix = [
            [rng.choice((top, -top, rng.randrange(-top, top))) for _ in range(3)] for _ in range(9)
        ]
        raw = ifma.column_products(modulus, bases, np.array(matrix, dtype=np.int64).tobytes(), 3)
        assert raw == _raw_expected(bases, matrix, modulus)
        got = native.native_column_products(bases, matrix, gmpy2.mpz(modulus))
        assert got == _reference(bases, matrix, modulus)


def test_a_base_sharing_a_factor_falls_back_per_column(ifma: Any) -> None:
    """In the offset form Q involves every base; a base that is not invertible makes Q not
    invertible, and each column is then computed by gmpy2's sign split: columns that only raise
    that base to positive powers still get their product."""
    p, q = 1000003, 1000033
    m = gmpy2.mpz(p * q)
    bases = [gmpy2.mpz(p), gmpy2.mpz(2), gmpy2.mpz(3)]
    matrix = [[-1, 1, 0], [2, -1, 5], [3, 2, 7]]  # column 0 inverts p: not invertible
    with pytest.raises(ZeroDivisionError):
        native.native_column_products(bases, matrix, m)
    fine = [[1, 2], [2, -1], [3, 2]]  # p only to positive powers, 2 inverted
    assert native.native_column_products(bases, fine, m) == _reference(bases, fine, int(m))


def test_empty_and_degenerate_inputs(ifma: Any) -> None:
    modulus = _group_modulus(1024, random.Random(3))
    assert ifma.column_products(modulus, [], b"", 3) == [1] * 6
    assert ifma.column_products(modulus, [5, 7], b"", 0) == []
    zeros = np.zeros((4, 9), dtype=np.int64).tobytes()
    assert ifma.column_products(modulus, [2, 3, 4, 5], zeros, 9) == [1] * 18


def test_rejects_bad_arguments(ifma: Any) -> None:
    modulus = _group_modulus(512, random.Random(5))
    exps = np.ones((2, 3), dtype=np.int64).tobytes()
    with pytest.raises(ValueError):
        ifma.column_products(modulus + 1, [1, 2], exps, 3)  # even modulus
    with pytest.raises(ValueError):
        ifma.column_products(1 << 4097 | 1, [1, 2], exps, 3)  # over 4096 bits
    with pytest.raises(ValueError):
        ifma.column_products(modulus, [1, 2], exps[:-8], 3)  # one exponent short
    with pytest.raises(ValueError):
        ifma.column_products(modulus, [1, 2], exps, 2)  # columns do not match
    with pytest.raises(ValueError):
        ifma.column_products(modulus, [1, 2], exps, -1)
    with pytest.raises(ValueError):
        ifma.column_products(modulus, [1, modulus], exps, 3)  # base not below the modulus
    with pytest.raises(ValueError):
        ifma.column_products(modulus, [1, -2], exps, 3)
    with pytest.raises(TypeError):
        ifma.column_products(modulus, [1, "2"], exps, 3)


def test_wrapper_falls_back(ifma: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """None (gmpy2 is used) for what the engine does not take; bases are reduced first."""
    rng = random.Random(29)
    m = gmpy2.mpz(_group_modulus(1024, rng))
    bases = _bases(5, int(m), rng)
    matrix = _matrix(5, 4, rng)
    assert native.native_column_products(bases, [[2**64, 1]] * 5, m) is None  # too large
    floats: Any = [[1.0, 2.0]] * 5
    assert native.native_column_products(bases, floats, m) is None
    assert native.native_column_products(bases, [[1, 2], [3]] * 2, m) is None  # ragged
    assert native.native_column_products(bases, matrix[:4], m) is None  # length mismatch
    assert native.native_column_products(bases, matrix, m + 1) is None  # even modulus
    assert native.native_column_products(bases, [[1]] * 5, m) is None  # one column: gmpy2
    unreduced = [b + m for b in bases]
    assert native.native_column_products(unreduced, matrix, m) == _reference(bases, matrix, int(m))
    # 9 columns: eight natively, the lone ninth with gmpy2 (min_columns=2)
    wide = _matrix(5, 9, rng)
    assert native.native_column_products(bases, wide, m) == _reference(bases, wide, int(m))
    monkeypatch.setenv(native.ENV_SWITCH, "0")
    assert native.native_column_products(bases, matrix, m) is None
    monkeypatch.delenv(native.ENV_SWITCH)
    monkeypatch.setattr(native, "_IFMA", None)
    assert native.native_column_products(bases, matrix, m) is None


def test_not_invertible_raises_like_gmpy2(ifma: Any) -> None:
    p, q = 1000003, 1000033
    m = gmpy2.mpz(p * q)
    bases = [gmpy2.mpz(p), gmpy2.mpz(2)]
    matrix = [[1, -1], [2, 3]]
    with pytest.raises(ZeroDivisionError):
        signed_multi_exp(bases, [row[1] for row in matrix], m)
    with pytest.raises(ZeroDivisionError):
        native.native_column_products(bases, matrix, m)


def test_column_products_paths_agree(ifma: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """_groupops.column_products and the pool worker's _dot, native and with gmpy2."""
    rng = random.Random(31)
    modulus = _group_modulus(2048, rng)
    bases = _bases(40, modulus, rng)
    matrix = _matrix(40, 11, rng)
    expected = _reference(bases, matrix, modulus)
    m = gmpy2.mpz(modulus)
    columns = [[row[j] for row in matrix] for j in range(11)]
    assert _groupops.column_products(bases, matrix, m) == expected
    assert parallel._dot(modulus, [int(b) for b in bases], columns) == expected
    monkeypatch.setenv(native.ENV_SWITCH, "0")
    assert _groupops.column_products(bases, matrix, m) == expected
    assert parallel._dot(modulus, [int(b) for b in bases], columns) == expected


@pytest.mark.parametrize("threads", [2, 3, 4, 7])
@pytest.mark.parametrize("count", [0, 5, 64, 130, 300])
@pytest.mark.parametrize("width", [1, 8, 9, 10, 17, 24])
def test_threads_give_the_one_thread_result(
    ifma: Any, threads: int, count: int, width: int
) -> None:
    """Batches shared out among threads, or row ranges joined afterwards (when the batches do
    not divide evenly, including more threads than rows allow): the raw output is the same."""
    rng = random.Random(threads * 1_000_000 + count * 100 + width)
    modulus = _group_modulus(1024, rng)
    bases = _bases(count, modulus, rng)
    exps = np.array(_matrix(count, width, rng), dtype=np.int64).reshape(count, width).tobytes()
    one = ifma.column_products(modulus, bases, exps, width, 1)
    assert ifma.column_products(modulus, bases, exps, width, threads) == one
    if count:
        matrix = _matrix(count, width, rng)
        got = native.native_column_products(
            bases, matrix, gmpy2.mpz(modulus), min_columns=1, threads=threads
        )
        assert got == _reference(bases, matrix, modulus)


def test_threads_at_4096_bits(ifma: Any) -> None:
    rng = random.Random(41)
    modulus = _group_modulus(4096, rng)
    bases = _bases(200, modulus, rng)
    matrix = _matrix(200, 10, rng)
    got = native.native_column_products(bases, matrix, gmpy2.mpz(modulus), threads=2)
    assert got == _reference(bases, matrix, modulus)


def test_thread_counts_are_checked(ifma: Any) -> None:
    modulus = _group_modulus(512, random.Random(43))
    exps = np.ones((2, 3), dtype=np.int64).tobytes()
    for bad in (0, -1, ifma.MAX_THREADS + 1):
        with pytest.raises(ValueError, match=rf"threads must be 1\.\.{ifma.MAX_THREADS}"):
            ifma.column_products(modulus, [1, 2], exps, 3, bad)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        native.native_column_products([1, 2], [[1, 2], [3, 4]], gmpy2.mpz(modulus), threads=0)
    # more threads than the engine runs: capped, same result
    bases, matrix = [gmpy2.mpz(3), gmpy2.mpz(5)], [[1, 2], [3, 4]]
    m = gmpy2.mpz(modulus)
    many = native.native_column_products(bases, matrix, m, threads=ifma.MAX_THREADS * 4)
    assert many == _reference(bases, matrix, modulus)


def test_lone_column_goes_native_with_threads(ifma: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """On one thread a lone ninth column takes gmpy2; with threads it stays in the engine."""
    rng = random.Random(47)
    m = gmpy2.mpz(_group_modulus(1024, rng))
    bases = _bases(80, int(m), rng)
    wide = _matrix(80, 9, rng)
    calls: list[int] = []
    real = native.signed_multi_exp

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(native, "signed_multi_exp", counting)
    assert native.native_column_products(bases, wide, m) == _reference(bases, wide, int(m))
    assert len(calls) == 1
    calls.clear()
    assert native.native_column_products(bases, wide, m, threads=2) == _reference(
        bases, wide, int(m)
    )
    assert calls == []
