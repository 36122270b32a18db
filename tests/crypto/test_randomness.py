"""Blinding factors: fixed-base tables compute the right powers; every factor is fresh."""

from __future__ import annotations

import secrets

import gmpy2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedloom.crypto import PaillierPublicKey, generate_paillier_keypair
from fedloom.crypto.randomness import LARGE_TABLE_AFTER, BlindingSource, FixedBaseTable

pytestmark = pytest.mark.unit

_PUBLIC, _PRIVATE = generate_paillier_keypair(512)


@settings(max_examples=50, deadline=None)
@given(exponent=st.integers(min_value=0, max_value=2**256 - 1), window=st.sampled_from([1, 4, 8]))
def test_fixed_base_power_equals_powmod(exponent: int, window: int) -> None:
    base = gmpy2.mpz(secrets.randbelow(int(_PUBLIC.nsquare)))
    table = FixedBaseTable(base, _PUBLIC.nsquare, 256, window)
    assert table.power(exponent) == gmpy2.powmod(base, exponent, _PUBLIC.nsquare)


@pytest.mark.parametrize("mode", ["djn", "full"])
def test_factors_are_fresh_nth_residues(mode: str) -> None:
    source = BlindingSource(_PUBLIC.n, mode)  # type: ignore[arg-type]
    factors = source.factors(64)
    assert len(set(factors)) == 64
    assert source.factors(0) == []
    # (1 + m·n)·f decrypts to m exactly when f is an n-th residue mod n².
    ciphertexts = [(1 + 7 * _PUBLIC.n) * f % _PUBLIC.nsquare for f in factors]
    assert _PRIVATE.raw_decrypt(ciphertexts) == [7] * 64


def test_djn_exponents_are_half_the_modulus_length() -> None:
    assert BlindingSource(_PUBLIC.n).exponent_bits == 256


def test_every_mode_encrypts_the_same_vector_to_new_ciphertexts() -> None:
    for mode in ("djn", "full"):
        key = PaillierPublicKey(_PUBLIC.n, randomness=mode)  # type: ignore[arg-type]
        first, second = key.encrypt([1.0, 1.0, -2.5]), key.encrypt([1.0, 1.0, -2.5])
        cts = first.ciphertexts + second.ciphertexts
        assert len(set(cts)) == 6
        assert _PRIVATE.raw_decrypt(cts) == _PRIVATE.raw_decrypt(first.ciphertexts) * 2


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown randomness mode 'short'"):
        BlindingSource(_PUBLIC.n, "short")  # type: ignore[arg-type]


def test_busy_sources_switch_to_the_larger_table_and_stay_correct() -> None:
    source = BlindingSource(_PUBLIC.n)
    source.local_factors(16)
    small = source._table
    assert small is not None and small.window == 8
    factors = source.local_factors(LARGE_TABLE_AFTER)
    large = source._table
    assert large is not None and large.window == 12 and large is not small
    assert len(set(factors)) == len(factors)
    sample = factors[-32:]
    ciphertexts = [(1 + 5 * _PUBLIC.n) * f % _PUBLIC.nsquare for f in sample]
    assert _PRIVATE.raw_decrypt(ciphertexts) == [5] * 32


@pytest.mark.parametrize("mode", ["djn", "full"])
def test_the_key_owner_encrypts_through_the_crt(mode: str) -> None:
    public = PaillierPublicKey(_PUBLIC.n, randomness=mode)  # type: ignore[arg-type]
    private = type(_PRIVATE)(public, int(_PRIVATE.p), int(_PRIVATE.q))
    owner = private.owner_public_key()
    assert owner == public and owner.to_bytes() == public.to_bytes()
    assert owner.blinding.mode == mode
    factors = owner.blinding.factors(40)
    assert len(set(factors)) == 40
    ciphertexts = [(1 + 3 * _PUBLIC.n) * f % _PUBLIC.nsquare for f in factors]
    assert private.raw_decrypt(ciphertexts) == [3] * 40
    values = [1.5, -2.25, 0.0, 1e6]
    first, second = private.encrypt(values), private.encrypt(values)
    assert first.public_key == public
    assert not set(first.ciphertexts) & set(second.ciphertexts)
    assert private.decrypt(first).tolist() == values
    # Owner ciphertexts combine with anyone's.
    assert private.decrypt(first + public.encrypt(values)).tolist() == [2 * v for v in values]


@pytest.mark.parametrize("native", ["1", "0"])
def test_native_engine_and_gmpy2_both_make_valid_factors(
    native: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fedloom.crypto import native as native_module

    monkeypatch.setenv(native_module.ENV_SWITCH, native)
    if native == "1" and not native_module.enabled():
        pytest.skip("the AVX-512 IFMA extension is not built or this CPU lacks IFMA")
    source = BlindingSource(_PUBLIC.n)
    factors = source.local_factors(19)
    assert (source._engine is not None) == (native == "1")
    assert len(set(factors)) == 19
    ciphertexts = [(1 + 9 * _PUBLIC.n) * f % _PUBLIC.nsquare for f in factors]
    assert _PRIVATE.raw_decrypt(ciphertexts) == [9] * 19
