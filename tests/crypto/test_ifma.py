"""The AVX-512 IFMA fixed-base engine (fedloom.crypto._ifma) against gmpy2, and its wrapper."""

from __future__ import annotations

import random
import secrets
from types import SimpleNamespace
from typing import Any

import gmpy2
import pytest

from fedloom.crypto import native
from fedloom.crypto.randomness import FixedBaseTable

pytestmark = pytest.mark.unit


def _modulus(bits: int, rng: random.Random) -> int:
    return rng.getrandbits(bits) | (1 << (bits - 1)) | 1


def _table(modulus: int, window: int, rows: int, rng: random.Random) -> list[list[int]]:
    return [[rng.randrange(modulus) for _ in range(1 << window)] for _ in range(rows)]


def _digits(count: int, rows: int, window: int, rng: random.Random) -> list[list[int]]:
    top = (1 << window) - 1
    out = [[rng.randrange(top + 1) for _ in range(rows)] for _ in range(count)]
    out[0] = [0] * rows  # the all-zero and all-max digit vectors are always included
    if count > 1:
        out[1] = [top] * rows
    return out


def _pack(digits: list[list[int]]) -> bytes:
    return b"".join(d.to_bytes(2, "little") for row in digits for d in row)


def _reference(table: list[list[int]], digits: list[list[int]], modulus: int) -> list[int]:
    out = []
    for row in digits:
        acc = gmpy2.mpz(1)
        for i, d in enumerate(row):
            acc = acc * table[i][d] % modulus
        out.append(int(acc))
    return out


@pytest.mark.parametrize("bits", [512, 1024, 2048, 4096])
@pytest.mark.parametrize(("window", "rows"), [(4, 5), (8, 3), (12, 2)])
@pytest.mark.parametrize("count", [1, 7, 8, 9, 61])
def test_products_equal_gmpy2(ifma: Any, bits: int, window: int, rows: int, count: int) -> None:
    rng = random.Random(bits * 1000 + window * 100 + count)
    modulus = _modulus(bits, rng)
    table = _table(modulus, window, rows, rng)
    engine = ifma.FixedBase(modulus, window, table)
    assert (engine.bits, engine.window, engine.rows) == (bits, window, rows)
    assert engine.limbs == ifma.limbs(bits)
    digits = _digits(count, rows, window, rng)
    assert engine.power(_pack(digits), count) == _reference(table, digits, modulus)


@pytest.mark.parametrize("bits", [2, 3, 52, 53, 101, 4095])
def test_odd_sizes_and_edge_values(ifma: Any, bits: int) -> None:
    rng = random.Random(bits)
    modulus = _modulus(bits, rng)
    table = [[0, 1, modulus - 1, rng.randrange(modulus)] for _ in range(3)]
    digits = [[rng.randrange(4) for _ in range(3)] for _ in range(20)]
    digits[:4] = [[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 2, 1]]
    engine = ifma.FixedBase(modulus, 2, table)
    assert engine.power(_pack(digits), 20) == _reference(table, digits, modulus)


@pytest.mark.parametrize("bits", [1024, 2047, 4096])
@pytest.mark.parametrize("shape", ["all_ones", "low"])
def test_extreme_moduli(ifma: Any, bits: int, shape: str) -> None:
    """Moduli with all limbs at their maximum, or just above a power of two; entries near m."""
    rng = random.Random(bits)
    modulus = (1 << bits) - 1 if shape == "all_ones" else (1 << (bits - 1)) + 1
    table = [[modulus - 1, modulus - 2, 1, rng.randrange(modulus)] for _ in range(6)]
    digits = [[rng.randrange(4) for _ in range(6)] for _ in range(17)]
    digits[:3] = [[0] * 6, [1] * 6, [3] * 6]
    engine = ifma.FixedBase(modulus, 2, table)
    assert engine.power(_pack(digits), 17) == _reference(table, digits, modulus)


def test_random_sizes(ifma: Any) -> None:
    rng = random.Random(23)
    for bits in [*rng.sample(range(2, 4097), 40), 4096]:
        modulus = _modulus(bits, rng)
        table = _table(modulus, 3, 4, rng)
        digits = _digits(11, 4, 3, rng)
        engine = ifma.FixedBase(modulus, 3, table)
        assert engine.power(_pack(digits), 11) == _reference(table, digits, modulus), bits


def test_accepts_mpz_and_empty_count(ifma: Any) -> None:
    rng = random.Random(7)
    modulus = _modulus(1024, rng)
    table = [[gmpy2.mpz(x) for x in row] for row in _table(modulus, 4, 2, rng)]
    engine = ifma.FixedBase(gmpy2.mpz(modulus), 4, table)
    assert engine.power(b"", 0) == []
    digits = _digits(9, 2, 4, rng)
    assert engine.power(bytearray(_pack(digits)), 9) == _reference(table, digits, modulus)


def test_rejects_bad_digits(ifma: Any) -> None:
    rng = random.Random(11)
    modulus = _modulus(512, rng)
    engine = ifma.FixedBase(modulus, 4, _table(modulus, 4, 3, rng))
    good = _pack(_digits(2, 3, 4, rng))
    with pytest.raises(ValueError):
        engine.power(good[:-2], 2)  # one digit short
    with pytest.raises(ValueError):
        engine.power(good + b"\x00", 2)  # odd byte length
    with pytest.raises(ValueError):
        engine.power(good, 3)  # count does not match
    with pytest.raises(ValueError):
        engine.power(good, -1)
    with pytest.raises(ValueError):
        engine.power(_pack([[0, 16, 0], [0, 0, 0]]), 2)  # 16 >= 2**4
    with pytest.raises(ValueError):
        engine.power(_pack([[0, 0, 0], [0, 0, 0xFFFF]]), 2)


def test_rejects_bad_tables(ifma: Any) -> None:
    rng = random.Random(13)
    modulus = _modulus(512, rng)
    with pytest.raises(ValueError):
        ifma.FixedBase(modulus + 1, 1, [[1, 2]])  # even modulus
    with pytest.raises(ValueError):
        ifma.FixedBase(_modulus(4097, rng), 1, [[1, 2]])  # over 4096 bits
    with pytest.raises(ValueError):
        ifma.FixedBase(modulus, 2, [[1, 2, 3]])  # row of the wrong length
    with pytest.raises(ValueError):
        ifma.FixedBase(modulus, 1, [[1, modulus]])  # entry not below the modulus
    with pytest.raises(ValueError):
        ifma.FixedBase(modulus, 1, [[1, -1]])
    with pytest.raises(ValueError):
        ifma.FixedBase(modulus, 1, [])
    with pytest.raises(ValueError):
        ifma.FixedBase(modulus, 17, [[1]])
    with pytest.raises(TypeError):
        ifma.FixedBase(modulus, 1, [[1, "2"]])


@pytest.mark.parametrize("window", [1, 4, 8, 12])
def test_native_engine_matches_fixed_base_table(
    ifma: Any, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    rng = random.Random(17)
    modulus = gmpy2.mpz(_modulus(2048, rng))
    base = gmpy2.mpz(rng.randrange(int(modulus)))
    table = FixedBaseTable(base, modulus, 100, window=window)
    monkeypatch.delenv(native.ENV_SWITCH, raising=False)
    engine = native.native_fixed_base(table)
    assert engine is not None
    assert native.native_fixed_base(table) is engine  # cached per table
    exponents = [0, 1, 2**100 - 1, *(secrets.randbits(100) for _ in range(14))]
    got = engine.powers(exponents)
    assert got == [table.power(e) for e in exponents]
    assert all(isinstance(x, type(gmpy2.mpz(0))) for x in got)
    assert engine.powers([]) == []
    with pytest.raises(ValueError):
        engine.powers([2 ** (len(table.rows) * window)])
    with pytest.raises(ValueError):
        engine.powers([-1])


@pytest.mark.parametrize("window", [1, 3, 7, 8, 12, 13, 16])
def test_digit_split(window: int) -> None:
    """NativeFixedBase.digits: w-bit digits of each exponent, least significant first."""
    rows = 11
    engine = native.NativeFixedBase(SimpleNamespace(rows=rows, window=window))  # type: ignore[arg-type]
    top = 2 ** (rows * window) - 1
    exponents = [0, top, *(secrets.randbelow(top + 1) for _ in range(10))]
    mask = (1 << window) - 1
    expected = [[(e >> (window * i)) & mask for i in range(rows)] for e in exponents]
    assert engine.digits(exponents) == _pack(expected)


def test_native_switch_disables(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(19)
    modulus = gmpy2.mpz(_modulus(512, rng))
    table = FixedBaseTable(gmpy2.mpz(3), modulus, 16, window=4)
    monkeypatch.setenv(native.ENV_SWITCH, "0")
    assert not native.enabled()
    assert native.native_fixed_base(table) is None


def test_native_none_without_support(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "_IFMA", None)
    table = FixedBaseTable(gmpy2.mpz(3), gmpy2.mpz(1009), 16, window=4)
    assert native.native_fixed_base(table) is None
