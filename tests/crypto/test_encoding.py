"""Tests for fedloom.crypto.encoding: exact fixed-point encoding into Z_n and its range checks."""

from __future__ import annotations

import math
import sys
from fractions import Fraction

import gmpy2
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fedloom.crypto.encoding import (
    DEFAULT_FRAC_BITS,
    EncodingOverflowError,
    FixedPointCodec,
    as_float_vector,
    float_to_scaled_ints,
)

pytestmark = pytest.mark.unit

# A 512-bit odd modulus and a 2048-bit one; the codec only needs n, not a real key.
N512 = (1 << 511) | 0x1234567 | 1
N2048 = (1 << 2047) | (1 << 1000) | 0xABCDEF | 1

SPECIAL = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    2.5,
    -2.5,
    1e-300,
    -1e-300,
    5e-324,
    -5e-324,
    sys.float_info.min,
    sys.float_info.min / 3,  # subnormal
    1e300,
    -1e300,
    sys.float_info.max,
    float(2**53),
    float(2**53) + 2,
    float(2**53 - 1) + 0.5,
    -(float(2**52) + 0.5),
]

any_finite = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True),
)


def exact_scaled(v: float, frac_bits: int) -> int:
    """round(v·2**frac_bits) with ties to even, in exact arithmetic."""
    return round(Fraction(v) * 2**frac_bits)


def exact_decoded(m: int, frac_bits: int) -> float:
    """m / 2**frac_bits correctly rounded to a float64."""
    return float(Fraction(m, 2**frac_bits))


@given(v=any_finite, frac_bits=st.integers(0, 960))
@settings(max_examples=400, deadline=None)
def test_float_to_scaled_ints_is_exact_rounding(v: float, frac_bits: int) -> None:
    [got] = float_to_scaled_ints(np.array([v]), frac_bits)
    assert type(got) is int
    assert got == exact_scaled(v, frac_bits)


def test_float_to_scaled_ints_rounds_half_to_even() -> None:
    values = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.25, 0.75])
    assert float_to_scaled_ints(values, 0) == [0, 2, 2, 0, -2, -2, 0, 1]
    assert float_to_scaled_ints(values, 1) == [1, 3, 5, -1, -3, -5, 0, 2]


@pytest.mark.parametrize("frac_bits", [-1, 961, 10_000])
def test_float_to_scaled_ints_rejects_bad_frac_bits(frac_bits: int) -> None:
    with pytest.raises(ValueError, match="frac_bits"):
        float_to_scaled_ints(np.array([1.0]), frac_bits)


@given(
    values=st.lists(any_finite, min_size=1, max_size=8),
    frac_bits=st.sampled_from([0, 1, 16, DEFAULT_FRAC_BITS, 64, 200]),
)
@settings(max_examples=300, deadline=None)
def test_round_trip_matches_exact_arithmetic_or_overflows(
    values: list[float], frac_bits: int
) -> None:
    codec = FixedPointCodec(N2048)
    scaled = [exact_scaled(v, frac_bits) for v in values]
    if any(abs(m) > codec.max_int for m in scaled):
        with pytest.raises(EncodingOverflowError):
            codec.encode(values, frac_bits)
        return
    encoded = codec.encode(values, frac_bits)
    assert all(0 <= e < N2048 for e in encoded)
    assert codec.decode_ints(encoded) == scaled
    decoded = codec.decode(encoded, frac_bits)
    assert decoded.dtype == np.float64
    assert decoded.tolist() == [exact_decoded(m, frac_bits) for m in scaled]


@given(v=st.floats(min_value=-(2.0**400), max_value=2.0**400))
@settings(max_examples=200, deadline=None)
def test_values_on_the_grid_round_trip_exactly(v: float) -> None:
    # A float whose ulp is at least 2**-53 (|v| >= 1) is a multiple of 2**-53: no rounding.
    assume(abs(v) >= 1.0 or v == 0.0)
    codec = FixedPointCodec(N512)
    assert codec.decode(codec.encode([v], DEFAULT_FRAC_BITS), DEFAULT_FRAC_BITS)[0] == v


@given(v=any_finite)
@settings(max_examples=200, deadline=None)
def test_negative_values_are_the_additive_inverse_in_z_n(v: float) -> None:
    codec = FixedPointCodec(N2048)
    assume(abs(exact_scaled(v, 8)) <= codec.max_int)
    [pos] = codec.encode([v], 8)
    [neg] = codec.encode([-v], 8)
    assert (pos + neg) % N2048 == 0


def test_zero_and_negative_zero_encode_to_zero() -> None:
    codec = FixedPointCodec(N512)
    assert codec.encode([0.0, -0.0], DEFAULT_FRAC_BITS) == [0, 0]
    assert codec.decode([0, 0], DEFAULT_FRAC_BITS).tolist() == [0.0, 0.0]


def test_tiny_values_round_to_zero_or_the_smallest_step() -> None:
    codec = FixedPointCodec(N512)
    tiny = [1e-300, -1e-300, 5e-324, sys.float_info.min / 3, 2.0**-54, 2.0**-54 * 3]
    assert codec.decode_ints(codec.encode(tiny, DEFAULT_FRAC_BITS)) == [0, 0, 0, 0, 0, 2]
    # With enough fractional bits a tiny value survives exactly.
    assert codec.decode(codec.encode([-(2.0**-900)], 960), 960).tolist() == [-(2.0**-900)]


def test_huge_values_round_trip_with_a_2048_bit_modulus() -> None:
    codec = FixedPointCodec(N2048)
    values = [1e300, -1e300, sys.float_info.max, -sys.float_info.max]
    decoded = codec.decode(codec.encode(values, DEFAULT_FRAC_BITS), DEFAULT_FRAC_BITS)
    assert decoded.tolist() == values


class TestRange:
    def test_bounds_of_the_valid_range(self) -> None:
        codec = FixedPointCodec(N512)
        max_int = int(codec.max_int)
        assert 3 * max_int < N512
        assert codec.encode_ints([max_int, -max_int]) == [max_int, N512 - max_int]
        assert codec.decode_ints([max_int, N512 - max_int]) == [max_int, -max_int]
        for bad in (max_int + 1, -max_int - 1, 10**400):
            with pytest.raises(EncodingOverflowError, match="element 0"):
                codec.encode_ints([bad])

    def test_middle_third_decodes_to_an_overflow_error(self) -> None:
        codec = FixedPointCodec(N512)
        max_int = int(codec.max_int)
        for bad in (max_int + 1, N512 // 2, N512 - max_int - 1):
            with pytest.raises(EncodingOverflowError, match="element 1"):
                codec.decode_ints([0, bad])
            with pytest.raises(EncodingOverflowError):
                codec.decode([0, bad], DEFAULT_FRAC_BITS)

    def test_encoding_too_large_a_value_raises(self) -> None:
        codec = FixedPointCodec(N512)
        with pytest.raises(EncodingOverflowError, match="element 2"):
            codec.encode([1.0, 2.0, 2.0**460], DEFAULT_FRAC_BITS)
        with pytest.raises(EncodingOverflowError):
            codec.encode([-1e300], DEFAULT_FRAC_BITS)
        # The same magnitude fits once fewer fractional bits are asked for.
        assert codec.decode(codec.encode([2.0**460], 0), 0).tolist() == [2.0**460]

    def test_overflow_error_is_an_overflow_error(self) -> None:
        assert issubclass(EncodingOverflowError, OverflowError)

    def test_decoded_value_beyond_float_range_raises_overflow(self) -> None:
        codec = FixedPointCodec(N2048)
        with pytest.raises(EncodingOverflowError, match="float64"):
            codec.decode([1 << 1100], 0)
        with pytest.raises(EncodingOverflowError, match="float64"):
            codec.decode([N2048 - (1 << 1100)], 0)

    def test_sum_of_two_maximal_values_is_detected_when_three_divides_n(self) -> None:
        n = 3 * ((1 << 300) + 1)
        codec = FixedPointCodec(n)
        max_int = int(codec.max_int)
        assert 3 * max_int < n
        [a] = codec.encode_ints([max_int])
        with pytest.raises(EncodingOverflowError):
            codec.decode_ints([(a + a) % n])
        [b] = codec.encode_ints([-max_int])
        with pytest.raises(EncodingOverflowError):
            codec.decode_ints([(b + b) % n])

    @given(
        a=st.integers(min_value=0, max_value=(N512 - 1) // 3),
        b=st.integers(min_value=0, max_value=(N512 - 1) // 3),
        sign=st.sampled_from([1, -1]),
    )
    @settings(max_examples=200, deadline=None)
    def test_one_addition_never_decodes_to_a_wrong_number(self, a: int, b: int, sign: int) -> None:
        codec = FixedPointCodec(N512)
        ea, eb = codec.encode_ints([sign * a, sign * b])
        total = sign * (a + b)
        if a + b <= codec.max_int:
            assert codec.decode_ints([(ea + eb) % N512]) == [total]
        else:
            with pytest.raises(EncodingOverflowError):
                codec.decode_ints([(ea + eb) % N512])


class TestNonFinite:
    @pytest.mark.parametrize(
        ("values", "index"),
        [
            ([math.nan], 0),
            ([1.0, math.inf], 1),
            ([1.0, 2.0, 3.0, -math.inf, math.nan], 3),
        ],
    )
    def test_non_finite_input_names_the_index(self, values: list[float], index: int) -> None:
        codec = FixedPointCodec(N512)
        with pytest.raises(ValueError, match=rf"values\[{index}\]"):
            codec.encode(values, DEFAULT_FRAC_BITS)

    def test_as_float_vector_shapes(self) -> None:
        assert as_float_vector(3).shape == (1,)
        assert as_float_vector([1, 2, 3]).dtype == np.float64
        assert as_float_vector([]).shape == (0,)
        with pytest.raises(ValueError, match="1-D"):
            as_float_vector([[1.0, 2.0]])
        with pytest.raises(ValueError, match=r"weights\[1\]"):
            as_float_vector([0.0, math.nan], "weights")


def test_codec_accepts_gmpy2_and_python_ints_alike() -> None:
    codec = FixedPointCodec(gmpy2.mpz(N512))
    [e] = codec.encode([-3.25], 4)
    assert codec.decode_ints([int(e)]) == codec.decode_ints([gmpy2.mpz(e)]) == [-52]
    assert codec.decode([], 4).shape == (0,)
