"""Bucket multi-exponentiation equals the product of separate exponentiations."""

from __future__ import annotations

import gmpy2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedloom.crypto.multiexp import best_window, multi_exp, signed_multi_exp

pytestmark = pytest.mark.unit

MODULUS = gmpy2.next_prime(2**255) * gmpy2.next_prime(2**250)


def _naive(bases: list[int], exponents: list[int]) -> int:
    acc = gmpy2.mpz(1)
    for b, e in zip(bases, exponents, strict=True):
        acc = acc * gmpy2.powmod(b, e, MODULUS) % MODULUS
    return int(acc)


bases_st = st.integers(min_value=2, max_value=2**500)


@settings(max_examples=80, deadline=None)
@given(
    data=st.lists(
        st.tuples(bases_st, st.integers(min_value=-(2**40), max_value=2**40)), max_size=40
    )
)
def test_signed_multi_exp_matches_naive(data: list[tuple[int, int]]) -> None:
    bases = [gmpy2.mpz(b) for b, _ in data]
    exponents = [e for _, e in data]
    assert int(signed_multi_exp(bases, exponents, MODULUS)) == _naive(bases, exponents)


@settings(max_examples=40, deadline=None)
@given(data=st.lists(st.tuples(bases_st, st.integers(min_value=0, max_value=2**70)), max_size=30))
def test_multi_exp_matches_naive_for_long_exponents(data: list[tuple[int, int]]) -> None:
    bases = [gmpy2.mpz(b) for b, _ in data]
    exponents = [e for _, e in data]
    assert int(multi_exp(bases, exponents, MODULUS)) == _naive(bases, exponents)


def test_edge_cases() -> None:
    assert multi_exp([], [], MODULUS) == 1
    assert multi_exp([gmpy2.mpz(7)], [0], MODULUS) == 1
    assert multi_exp([gmpy2.mpz(7), gmpy2.mpz(9)], [0, 5], MODULUS) == 9**5
    with pytest.raises(ValueError, match="non-negative"):
        multi_exp([gmpy2.mpz(7)], [-1], MODULUS)
    with pytest.raises(ValueError, match="1 bases but 2 exponents"):
        multi_exp([gmpy2.mpz(7)], [1, 2], MODULUS)


def test_window_grows_with_the_number_of_bases() -> None:
    assert best_window(1, 30) <= best_window(100, 30) <= best_window(30000, 30)
    assert best_window(30000, 30) >= 6
