"""The worker pool computes exactly what the calling process would, and never reuses randomness."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from paillier_support import PaillierKeys

from fedloom.crypto import generate_paillier_keypair
from fedloom.crypto.parallel import MIN_PARALLEL, active_pool, configure_workers, suspended

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def pooled() -> Iterator[PaillierKeys]:
    configure_workers(2)
    try:
        yield generate_paillier_keypair(512)
    finally:
        configure_workers(1)


def test_pool_results_equal_local_results(pooled: PaillierKeys) -> None:
    pk, sk = pooled
    assert active_pool() is not None
    rng = np.random.default_rng(3)
    values = rng.normal(size=MIN_PARALLEL * 2)
    matrix = rng.normal(size=(values.size, 5))
    vector = pk.encrypt(values)
    assert sk.decrypt(vector).tolist() == pytest.approx(values.tolist(), abs=1e-12)
    assert sk.raw_decrypt(vector.ciphertexts) == sk.local_decrypt(vector.ciphertexts)
    pooled_dot = vector.dot(matrix, 23)
    with suspended():
        local_dot = vector.dot(matrix, 23)
    assert pooled_dot.ciphertexts == local_dot.ciphertexts


def test_prefetched_factors_are_fresh_and_used_once(pooled: PaillierKeys) -> None:
    pk, sk = pooled
    pk.blinding.prefetch(MIN_PARALLEL * 3)
    first = pk.blinding.factors(MIN_PARALLEL)
    second = pk.blinding.factors(MIN_PARALLEL * 3)
    assert len(set(first) | set(second)) == MIN_PARALLEL * 4
    ciphertexts = [(1 + 5 * pk.n) * f % pk.nsquare for f in first[:8]]
    assert sk.raw_decrypt(ciphertexts) == [5] * 8


def test_small_vectors_stay_local(pooled: PaillierKeys) -> None:
    pk, sk = pooled
    vector = pk.encrypt([1.0, -2.0])
    assert sk.decrypt(vector).tolist() == [1.0, -2.0]


def test_a_pool_needs_two_workers() -> None:
    from fedloom.crypto.parallel import CryptoPool

    with pytest.raises(ValueError, match="at least 2 workers"):
        CryptoPool(1)


def test_ou_uses_the_pool_for_factors_and_dot(pooled: PaillierKeys) -> None:
    from fedloom.crypto import generate_ou_keypair

    pk, sk = generate_ou_keypair(1024)
    rng = np.random.default_rng(5)
    values = rng.normal(size=MIN_PARALLEL * 2)
    matrix = rng.normal(size=(values.size, 3))
    pk.prefetch_randomness(MIN_PARALLEL)
    first, second = pk.encrypt(values), pk.encrypt(values)
    assert not set(first.ciphertexts) & set(second.ciphertexts)
    assert len(set(first.ciphertexts)) == values.size
    assert sk.decrypt(first).tolist() == pytest.approx(values.tolist(), abs=1e-12)
    pooled_dot = first.dot(matrix, 23)
    with suspended():
        local_dot = first.dot(matrix, 23)
    assert pooled_dot.ciphertexts == local_dot.ciphertexts
    np.testing.assert_allclose(sk.decrypt(pooled_dot), values @ matrix, atol=1e-5)
    # Factors H^r from the workers are fresh: no two equal, none decrypting to anything but 0.
    pool = active_pool()
    assert pool is not None
    factors = pool.powers(pk.h, pk.n, pk.randomness_bits, MIN_PARALLEL)
    assert len(set(factors)) == MIN_PARALLEL
    assert sk.raw_decrypt(factors[:8]) == [0] * 8


@pytest.mark.parametrize("width", [1, 3, 9, 10, 17])
@pytest.mark.parametrize("native", ["1", "0"])
def test_pooled_gradient_products_equal_local_ones(
    pooled: PaillierKeys, width: int, native: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pool shares work by rows or by (batches of) columns depending on the width and on
    # whether the native engine runs; every split must give the local result exactly.
    monkeypatch.setenv("FEDLOOM_NATIVE", native)
    pk, _ = pooled
    rng = np.random.default_rng(width)
    vector = pk.encrypt(rng.normal(size=MIN_PARALLEL + 5))
    matrix = rng.normal(size=(len(vector), width))
    pooled_dot = vector.dot(matrix, 23)
    with suspended():
        local_dot = vector.dot(matrix, 23)
    assert pooled_dot.ciphertexts == local_dot.ciphertexts
