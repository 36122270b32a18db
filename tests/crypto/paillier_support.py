"""Strategies, exact fixed-point references and types shared by the Paillier tests."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from fractions import Fraction

import pytest
from hypothesis import settings
from hypothesis import strategies as st

from fedloom.crypto import (
    DEFAULT_FRAC_BITS,
    PaillierPrivateKey,
    PaillierPublicKey,
    PrivateKey,
    PublicKey,
)

pytestmark = pytest.mark.unit
FB = DEFAULT_FRAC_BITS
Keys = tuple[PublicKey, PrivateKey]
PaillierKeys = tuple[PaillierPublicKey, PaillierPrivateKey]

SUBNORMAL = sys.float_info.min / 7
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.1, -0.1, 1e-300, -1e-300, 5e-324, SUBNORMAL, 1e30, -1e30]

# Magnitudes up to 1e30 (~2**100) keep products of two encodings (2**306) and sums of a few of
# them far inside the plaintext range of a 512-bit key (2**509).
moderate = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(min_value=-1e30, max_value=1e30, allow_subnormal=True),
)
# Plain encryption alone can go up to ~2**455 with a 512-bit key.
wide = st.one_of(
    st.sampled_from([*SPECIAL, 1e130, -1e130]),
    st.floats(min_value=-1e130, max_value=1e130, allow_subnormal=True),
)
vectors = st.lists(moderate, min_size=1, max_size=6)
PROPERTY = settings(max_examples=25, deadline=None)


def enc(v: float, frac_bits: int = FB) -> int:
    """The exact fixed-point integer of v (ties to even)."""
    return round(Fraction(v) * 2**frac_bits)


def dec(m: int, frac_bits: int) -> float:
    """m / 2**frac_bits, correctly rounded."""
    return float(Fraction(m, 2**frac_bits))


def decoded(values: Sequence[float], frac_bits: int = FB) -> list[float]:
    """What encrypting then decrypting ``values`` must give."""
    return [dec(enc(v, frac_bits), frac_bits) for v in values]
