"""The vectorised row encoding of the gradient product equals the exact scalar one."""

from __future__ import annotations

import numpy as np
import pytest

from fedloom.crypto.cipher import _scaled_rows
from fedloom.crypto.encoding import float_to_scaled_ints

pytestmark = pytest.mark.unit


def _reference(x: np.ndarray, frac_bits: int) -> tuple[list[list[int]], list[int]]:
    rows = [float_to_scaled_ints(x[i], frac_bits) for i in range(x.shape[0])]
    return rows, [sum(abs(r[j]) for r in rows) for j in range(x.shape[1])]


@pytest.mark.parametrize("frac_bits", [0, 1, 23, 40, 52, 53])
def test_matches_the_scalar_encoding(frac_bits: int) -> None:
    rng = np.random.default_rng(frac_bits)
    x = rng.normal(scale=3.0, size=(5000, 4))
    # Ties at half a unit in the last place must round half to even, as np.rint does.
    x[:8, 0] = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.0, -0.0]) / 2.0**frac_bits
    if frac_bits <= 52:
        x[8, 1] = np.nextafter(2.0 ** (52 - frac_bits), 0)  # largest value on the fast path
    assert _scaled_rows(x, frac_bits) == _reference(x, frac_bits)


def test_large_values_take_the_exact_path() -> None:
    x = np.array([[1e30, -2.5], [3.0, 1e-9]])
    assert _scaled_rows(x, 23) == _reference(x, 23)


def test_sums_beyond_int64_stay_exact() -> None:
    x = np.full((4100, 2), 2.0**28)  # 2**51 each at 23 bits: the column sums exceed 2**63
    rows, l1 = _scaled_rows(x, 23)
    assert l1 == [4100 * 2**51] * 2 and rows[0] == [2**51, 2**51]
