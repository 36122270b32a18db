"""Tests for fedloom.crypto.paillier and the CipherVector arithmetic over it.

The arithmetic properties run against both the real Paillier key and the plaintext stand-in
(the ``keys`` fixture is parametrised); every decoded result is compared with exact rational
arithmetic on the fixed-point encodings, so float rounding in the reference cannot hide an error.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from fractions import Fraction
from typing import ClassVar

import gmpy2
import numpy as np
import phe.paillier
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedloom.crypto import (
    DEFAULT_FRAC_BITS,
    CipherVector,
    EncodingOverflowError,
    KeyMismatchError,
    PaillierPrivateKey,
    PaillierPublicKey,
    PlainPublicKey,
    PrivateKey,
    PublicKey,
    RawPlaintexts,
    generate_paillier_keypair,
    generate_plain_keypair,
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


@pytest.fixture(scope="session")
def paillier_keys() -> PaillierKeys:
    return generate_paillier_keypair(512)


@pytest.fixture(scope="session")
def other_paillier_keys() -> PaillierKeys:
    return generate_paillier_keypair(512)


@pytest.fixture(scope="session")
def keys_2048() -> PaillierKeys:
    return generate_paillier_keypair(2048)


@pytest.fixture(scope="session", params=["paillier", "plain"])
def keys(request: pytest.FixtureRequest, paillier_keys: PaillierKeys) -> Keys:
    if request.param == "paillier":
        return paillier_keys
    return generate_plain_keypair(512)


class TestArithmetic:
    """Every operation of CipherVector, for Paillier and the stand-in alike."""

    @given(values=st.lists(wide, min_size=0, max_size=8))
    @PROPERTY
    def test_encrypt_decrypt_round_trip(self, keys: Keys, values: list[float]) -> None:
        pk, sk = keys
        cv = pk.encrypt(values)
        assert len(cv) == len(values) and cv.frac_bits == FB
        out = sk.decrypt(cv)
        assert out.dtype == np.float64
        assert out.tolist() == decoded(values)

    @pytest.mark.parametrize("frac_bits", [0, 1, 20, 100, 300])
    def test_round_trip_at_other_scales(self, keys: Keys, frac_bits: int) -> None:
        pk, sk = keys
        values = [0.0, 1.5, -2.75, 1e-5, -3e10, 1e-300]
        assert sk.decrypt(pk.encrypt(values, frac_bits)).tolist() == decoded(values, frac_bits)

    def test_scalar_encrypts_as_a_vector_of_one(self, keys: Keys) -> None:
        pk, sk = keys
        assert sk.decrypt(pk.encrypt(-2.5)).tolist() == [-2.5]

    @given(
        pair=st.integers(1, 6).flatmap(lambda k: st.tuples(*[st.tuples(moderate, moderate)] * k))
    )
    @PROPERTY
    def test_add_and_subtract_vectors(
        self, keys: Keys, pair: tuple[tuple[float, float], ...]
    ) -> None:
        pk, sk = keys
        a, b = [x for x, _ in pair], [y for _, y in pair]
        ca, cb = pk.encrypt(a), pk.encrypt(b)
        assert sk.decrypt(ca + cb).tolist() == [
            dec(enc(x) + enc(y), FB) for x, y in zip(a, b, strict=True)
        ]
        assert sk.decrypt(ca - cb).tolist() == [
            dec(enc(x) - enc(y), FB) for x, y in zip(a, b, strict=True)
        ]
        assert sk.decrypt(-ca).tolist() == [dec(-enc(x), FB) for x in a]

    @given(a=vectors, b=st.lists(moderate, min_size=1, max_size=6))
    @PROPERTY
    def test_add_vectors_of_different_scales(
        self, keys: Keys, a: list[float], b: list[float]
    ) -> None:
        pk, sk = keys
        b = (b * len(a))[: len(a)]
        total = pk.encrypt(a) + pk.encrypt(b, 20)
        assert total.frac_bits == FB
        expected = [dec(enc(x) + enc(y, 20) * 2**33, FB) for x, y in zip(a, b, strict=True)]
        assert sk.decrypt(total).tolist() == expected
        assert sk.decrypt(pk.encrypt(b, 20) + pk.encrypt(a)).tolist() == expected

    @given(a=vectors, p=moderate)
    @PROPERTY
    def test_add_plaintext_from_either_side(self, keys: Keys, a: list[float], p: float) -> None:
        pk, sk = keys
        ca = pk.encrypt(a)
        plain = np.array([p] * len(a))
        expected = [dec(enc(x) + enc(p), FB) for x in a]
        for result in (ca + plain, plain + ca, ca + p, p + ca, ca + plain.tolist()):
            assert isinstance(result, CipherVector)
            assert sk.decrypt(result).tolist() == expected
        minus = [dec(enc(x) - enc(p), FB) for x in a]
        assert sk.decrypt(ca - plain).tolist() == minus
        assert sk.decrypt(ca - p).tolist() == minus
        rminus = [dec(enc(p) - enc(x), FB) for x in a]
        assert sk.decrypt(plain - ca).tolist() == rminus
        assert sk.decrypt(p - ca).tolist() == rminus

    def test_numpy_operands_on_the_left_give_cipher_vectors(self, keys: Keys) -> None:
        pk, sk = keys
        ca = pk.encrypt([1.0, 2.0])
        arr = np.array([0.5, -4.0])
        for result in (arr + ca, arr - ca, arr * ca, np.float64(3.0) * ca, np.float64(1.0) + ca):
            assert isinstance(result, CipherVector)
        assert sk.decrypt(arr + ca).tolist() == [1.5, -2.0]
        assert sk.decrypt(arr - ca).tolist() == [-0.5, -6.0]
        assert sk.decrypt(arr * ca).tolist() == [0.5, -8.0]

    def test_length_one_operands_broadcast(self, keys: Keys) -> None:
        pk, sk = keys
        one, three = pk.encrypt([2.0]), pk.encrypt([1.0, -1.0, 0.5])
        assert sk.decrypt(one + three).tolist() == [3.0, 1.0, 2.5]
        assert sk.decrypt(three + one).tolist() == [3.0, 1.0, 2.5]
        assert sk.decrypt(one + np.array([1.0, 2.0])).tolist() == [3.0, 4.0]
        assert sk.decrypt(one.mul([1.0, -3.0])).tolist() == [2.0, -6.0]

    def test_empty_vectors_follow_numpy_broadcasting(self, keys: Keys) -> None:
        pk, sk = keys
        empty = pk.encrypt([])
        assert len(empty) == 0
        assert sk.decrypt(empty * 2.0).tolist() == []
        assert sk.decrypt(empty + 1.0).tolist() == []
        assert sk.decrypt(empty + pk.encrypt([1.0])).tolist() == []
        assert sk.decrypt(empty.sum()).tolist() == [0.0]
        assert sk.decrypt(empty.dot(np.zeros((0, 3)))).tolist() == [0.0, 0.0, 0.0]

    def test_length_mismatch_raises(self, keys: Keys) -> None:
        pk, _ = keys
        three = pk.encrypt([1.0, 2.0, 3.0])
        with pytest.raises(ValueError, match="length mismatch"):
            three + pk.encrypt([1.0, 2.0])
        with pytest.raises(ValueError, match="length mismatch"):
            three + np.array([1.0, 2.0])
        with pytest.raises(ValueError, match="length mismatch"):
            three.mul([1.0, 2.0])
        with pytest.raises(ValueError, match="shape"):
            three.dot(np.ones((2, 2)))
        with pytest.raises(ValueError, match="shape"):
            three.dot(np.ones(3))

    @given(a=vectors, k=moderate, frac_bits=st.sampled_from([0, 8, FB]))
    @PROPERTY
    def test_scalar_multiply(self, keys: Keys, a: list[float], k: float, frac_bits: int) -> None:
        pk, sk = keys
        ca = pk.encrypt(a)
        product = ca.mul(k, frac_bits)
        assert product.frac_bits == FB + frac_bits
        expected = [dec(enc(x) * enc(k, frac_bits), FB + frac_bits) for x in a]
        assert sk.decrypt(product).tolist() == expected
        assert sk.decrypt(ca.mul(-k, frac_bits)).tolist() == [-e for e in expected]
        default = [dec(enc(x) * enc(k), 2 * FB) for x in a]
        assert sk.decrypt(ca * k).tolist() == default
        assert sk.decrypt(k * ca).tolist() == default

    @pytest.mark.parametrize("k", [2.0, -2.0, 0.5, -0.5, 0.0, -0.0, 1.0, -1.0, 1e-300, -3.75])
    def test_scalar_multiply_signs(self, keys: Keys, k: float) -> None:
        pk, sk = keys
        a = [1.0, -2.0, 0.0, 1e20]
        assert sk.decrypt(pk.encrypt(a) * k).tolist() == [dec(enc(x) * enc(k), 2 * FB) for x in a]

    @given(pairs=st.lists(st.tuples(moderate, moderate), min_size=1, max_size=6))
    @PROPERTY
    def test_elementwise_multiply(self, keys: Keys, pairs: list[tuple[float, float]]) -> None:
        pk, sk = keys
        a, k = [x for x, _ in pairs], [y for _, y in pairs]
        product = pk.encrypt(a).mul(np.array(k))
        expected = [dec(enc(x) * enc(y), 2 * FB) for x, y in pairs]
        assert sk.decrypt(product).tolist() == expected

    @given(data=st.data(), rows=st.integers(1, 6), cols=st.integers(1, 4))
    @PROPERTY
    def test_dot_is_the_exact_gradient_product(
        self, keys: Keys, data: st.DataObject, rows: int, cols: int
    ) -> None:
        pk, sk = keys
        d = data.draw(st.lists(moderate, min_size=rows, max_size=rows), label="d")
        x = np.array(
            data.draw(
                st.lists(
                    st.lists(moderate, min_size=cols, max_size=cols), min_size=rows, max_size=rows
                ),
                label="x",
            )
        )
        result = pk.encrypt(d).dot(x)
        assert len(result) == cols and result.frac_bits == 2 * FB
        got = sk.decrypt(result)
        exact = [sum(enc(d[i]) * enc(x[i, j]) for i in range(rows)) for j in range(cols)]
        assert got.tolist() == [dec(m, 2 * FB) for m in exact]
        # numpy on the encoded values agrees up to float summation error.
        d_enc = np.array(decoded(d))
        x_enc = np.array([decoded(row) for row in x.tolist()])
        tol = (rows + 2) * np.finfo(np.float64).eps * (np.abs(d_enc) @ np.abs(x_enc))
        assert np.all(np.abs(got - d_enc @ x_enc) <= tol)

    def test_dot_is_exact_where_floats_cancel(self, keys: Keys) -> None:
        pk, sk = keys
        d = np.array([1e30, 1.0, -1e30])
        x = np.array([[1.0, 2.0], [1.0, -1.0], [1.0, 2.0]])
        assert (d @ x).tolist() == [0.0, 0.0]  # float64 loses the middle row entirely
        assert sk.decrypt(pk.encrypt(d).dot(x)).tolist() == [1.0, -1.0]
        assert sk.decrypt(pk.encrypt(d).sum()).tolist() == [1.0]

    def test_dot_with_negative_and_zero_columns(self, keys: Keys) -> None:
        pk, sk = keys
        d = [0.5, -1.25, 3.0]
        x = np.array([[0.0, -1.0, 2.0], [0.0, -1.0, 0.5], [0.0, -1.0, -4.0]])
        assert sk.decrypt(pk.encrypt(d).dot(x)).tolist() == [0.0, -2.25, -11.625]
        assert len(pk.encrypt(d).dot(np.zeros((3, 0)))) == 0

    @given(a=st.lists(moderate, min_size=1, max_size=8))
    @PROPERTY
    def test_sum(self, keys: Keys, a: list[float]) -> None:
        pk, sk = keys
        total = pk.encrypt(a).sum()
        assert len(total) == 1
        assert sk.decrypt(total).tolist() == [dec(sum(enc(x) for x in a), FB)]

    @given(a=st.lists(moderate, min_size=1, max_size=8), data=st.data())
    @PROPERTY
    def test_take(self, keys: Keys, a: list[float], data: st.DataObject) -> None:
        pk, sk = keys
        idx = data.draw(st.lists(st.integers(-len(a), len(a) - 1), max_size=10))
        picked = pk.encrypt(a).take(np.array(idx, dtype=np.int64))
        assert sk.decrypt(picked).tolist() == [decoded(a)[i] for i in idx]

    def test_take_out_of_range_raises(self, keys: Keys) -> None:
        pk, _ = keys
        with pytest.raises(IndexError):
            pk.encrypt([1.0, 2.0]).take([2])

    @given(parts=st.lists(st.tuples(vectors, st.sampled_from([0, 20, FB])), min_size=1, max_size=4))
    @PROPERTY
    def test_concat_aligns_scales(self, keys: Keys, parts: list[tuple[list[float], int]]) -> None:
        pk, sk = keys
        joined = CipherVector.concat([pk.encrypt(v, fb) for v, fb in parts])
        assert joined.frac_bits == max(fb for _, fb in parts)
        assert sk.decrypt(joined).tolist() == [x for v, fb in parts for x in decoded(v, fb)]

    def test_concat_of_nothing_raises(self) -> None:
        with pytest.raises(ValueError, match="at least one"):
            CipherVector.concat([])

    @given(a=st.lists(moderate, min_size=1, max_size=8))
    @PROPERTY
    def test_rerandomize_keeps_the_plaintexts(self, keys: Keys, a: list[float]) -> None:
        pk, sk = keys
        ca = pk.encrypt(a)
        fresh = ca.rerandomize()
        assert fresh.frac_bits == ca.frac_bits
        assert sk.decrypt(fresh).tolist() == sk.decrypt(ca).tolist()

    @given(a=st.lists(moderate, min_size=1, max_size=8))
    @PROPERTY
    def test_mask_round_trip(self, keys: Keys, a: list[float]) -> None:
        pk, sk = keys
        ca = pk.encrypt(a).mul(0.5)
        mask = pk.new_mask(len(ca))
        assert len(mask) == len(ca) and all(0 <= r < pk.n for r in mask.elements)
        masked = mask.apply(ca)
        raw = sk.decrypt_raw(masked)
        assert isinstance(raw, RawPlaintexts) and raw.frac_bits == ca.frac_bits
        unmasked_raw = sk.decrypt_raw(ca).elements
        # What the decrypting party sees is not the value (fails with probability ~2**-500).
        assert all(m != u for m, u in zip(raw.elements, unmasked_raw, strict=True))
        assert mask.remove(raw).tolist() == sk.decrypt(ca).tolist()

    def test_masked_values_look_uniform(self, keys: Keys) -> None:
        pk, sk = keys
        zeros = pk.encrypt(np.zeros(64))
        raw = sk.decrypt_raw(pk.new_mask(64).apply(zeros))
        undecodable = 0
        for element in raw.elements:
            try:
                pk.codec.decode_ints([element])
            except EncodingOverflowError:
                undecodable += 1
        # Uniform elements land in the middle third with probability 1/3 each.
        assert 5 <= undecodable <= 45

    def test_mask_checks_key_and_length(
        self, keys: Keys, other_paillier_keys: PaillierKeys
    ) -> None:
        pk, sk = keys
        other_pk, _ = other_paillier_keys
        ca = pk.encrypt([1.0, 2.0])
        with pytest.raises(KeyMismatchError):
            pk.new_mask(3).apply(ca)
        with pytest.raises(KeyMismatchError):
            other_pk.new_mask(2).apply(ca)
        raw = sk.decrypt_raw(pk.new_mask(2).apply(ca))
        with pytest.raises(KeyMismatchError):
            other_pk.new_mask(2).remove(raw)
        with pytest.raises(KeyMismatchError):
            pk.new_mask(1).remove(raw)

    def test_key_mismatch(self, keys: Keys, other_paillier_keys: PaillierKeys) -> None:
        pk, sk = keys
        other_pk, other_sk = other_paillier_keys
        mine, theirs = pk.encrypt([1.0]), other_pk.encrypt([1.0])
        assert issubclass(KeyMismatchError, ValueError)
        with pytest.raises(KeyMismatchError):
            other_sk.decrypt(mine)
        with pytest.raises(KeyMismatchError):
            other_sk.decrypt_raw(mine)
        with pytest.raises(KeyMismatchError):
            sk.decrypt(theirs)
        with pytest.raises(KeyMismatchError):
            mine + theirs
        with pytest.raises(KeyMismatchError):
            mine - theirs
        with pytest.raises(KeyMismatchError):
            CipherVector.concat([mine, theirs])

    def test_non_finite_operands_name_the_index(self, keys: Keys) -> None:
        pk, _ = keys
        ca = pk.encrypt([1.0, 2.0])
        with pytest.raises(ValueError, match=r"values\[1\]"):
            pk.encrypt([0.0, math.nan])
        with pytest.raises(ValueError, match=r"operand\[0\]"):
            ca + np.array([math.inf, 1.0])
        with pytest.raises(ValueError, match=r"multiplier\[1\]"):
            ca.mul([1.0, -math.inf])
        with pytest.raises(ValueError, match=r"matrix\[1, 0\]"):
            ca.dot(np.array([[1.0], [math.nan]]))


class TestOverflow:
    """Results outside the plaintext range raise EncodingOverflowError, never a wrong number."""

    @staticmethod
    def half_range(pk: PublicKey) -> float:
        """The largest power of two whose encoding fits: twice it no longer does."""
        exponent = int(pk.codec.max_int).bit_length() - 1
        return 2.0 ** (exponent - FB)

    def test_encrypting_too_large_a_value_raises(self, keys: Keys) -> None:
        pk, _ = keys
        with pytest.raises(EncodingOverflowError):
            pk.encrypt([1.0, 2.0 * self.half_range(pk)])
        with pytest.raises(EncodingOverflowError):
            pk.encrypt([-1e300])
        with pytest.raises(EncodingOverflowError):
            pk.encrypt([1.0]) + np.array([1e300])

    def test_homomorphic_overflow_decodes_to_an_error(self, keys: Keys) -> None:
        pk, sk = keys
        big = self.half_range(pk)
        ca = pk.encrypt([big, -big])
        assert sk.decrypt(ca).tolist() == [big, -big]
        with pytest.raises(EncodingOverflowError):
            sk.decrypt(ca.take([0]) + ca.take([0]))
        with pytest.raises(EncodingOverflowError):
            sk.decrypt(ca.take([1]) + ca.take([1]))
        with pytest.raises(EncodingOverflowError):
            sk.decrypt(ca.take([0]) - ca.take([1]))
        with pytest.raises(EncodingOverflowError):
            sk.decrypt(ca.mul(2.0, frac_bits=0))
        with pytest.raises(EncodingOverflowError):
            sk.decrypt(ca.take([1]).mul(-2.0, frac_bits=0))
        with pytest.raises(EncodingOverflowError):
            sk.decrypt(ca.take([0, 0]).sum())
        with pytest.raises(EncodingOverflowError):
            sk.decrypt(ca.take([1, 1]).dot(np.ones((2, 1)), frac_bits=0))
        # Masking does not hide an overflow from the masking party (raw ops skip the bounds).
        raw_sum = pk.raw_add(ca.take([0]).ciphertexts, ca.take([0]).ciphertexts)
        overflowed = CipherVector(pk, raw_sum, FB)
        mask = pk.new_mask(1)
        with pytest.raises(EncodingOverflowError):
            mask.remove(sk.decrypt_raw(mask.apply(overflowed)))

    def test_results_that_would_wrap_around_n_are_refused_before_computing(
        self, keys: Keys
    ) -> None:
        pk, sk = keys
        ca = pk.encrypt([3.0, -1.5])
        # Far past 3·max_int a product would wrap modulo n and decode to some valid-looking
        # number; the bound check refuses it instead.
        huge = 2.0 ** (pk.key_length - 60)
        for operation in (
            lambda: ca.mul(huge, frac_bits=0),
            lambda: ca.dot(np.full((2, 3), huge), frac_bits=0),
            lambda: ca.mul(2.0**200, frac_bits=0).mul(2.0**200, frac_bits=0),
        ):
            with pytest.raises(EncodingOverflowError, match="would overflow"):
                operation()
        assert sk.decrypt(ca.mul(1e6, frac_bits=0)).tolist() == [3e6, -1.5e6]

    @given(data=st.data())
    @settings(max_examples=60, deadline=None)
    def test_one_addition_is_exact_or_raises(self, keys: Keys, data: st.DataObject) -> None:
        pk, sk = keys
        max_int = int(pk.codec.max_int)
        a = data.draw(st.integers(-max_int, max_int), label="a")
        b = data.draw(st.integers(-max_int, max_int), label="b")
        ca = pk.raw_encrypt(pk.codec.encode_ints([a]))
        cb = pk.raw_encrypt(pk.codec.encode_ints([b]))
        total = sk.raw_decrypt(pk.raw_add(ca, cb))
        if abs(a + b) <= max_int:
            assert pk.codec.decode_ints(total) == [a + b]
        else:
            with pytest.raises(EncodingOverflowError):
                pk.codec.decode_ints(total)


class TestPaillierKey:
    """Properties of the real scheme: randomness, decryption, keys, interop with phe."""

    def test_encryption_is_never_deterministic(self, paillier_keys: PaillierKeys) -> None:
        pk, sk = paillier_keys
        values = [1.0, 1.0, 0.0, 0.0, -3.5]
        first, second = pk.encrypt(values), pk.encrypt(values)
        everything = [int(c) for c in first.ciphertexts + second.ciphertexts]
        assert len(set(everything)) == len(everything)
        assert sk.decrypt(first).tolist() == sk.decrypt(second).tolist() == values

    def test_rerandomize_changes_every_ciphertext(self, paillier_keys: PaillierKeys) -> None:
        pk, sk = paillier_keys
        ca = pk.encrypt([0.0, 1.0, 1.0, -2.0])
        fresh = ca.rerandomize()
        again = fresh.rerandomize()
        for old, new, newer in zip(
            ca.ciphertexts, fresh.ciphertexts, again.ciphertexts, strict=True
        ):
            assert len({int(old), int(new), int(newer)}) == 3
        assert sk.decrypt(again).tolist() == [0.0, 1.0, 1.0, -2.0]

    def test_empty_sum_is_a_fresh_encryption(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        empty = pk.encrypt([])
        assert empty.sum().ciphertexts != empty.sum().ciphertexts

    def test_ciphertexts_are_units_mod_n_squared(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        for c in pk.encrypt(np.linspace(-5, 5, 11)).ciphertexts:
            assert 0 < c < pk.nsquare
            assert gmpy2.gcd(c, pk.n) == 1

    @given(data=st.data())
    @settings(max_examples=40, deadline=None)
    def test_crt_decryption_matches_the_textbook_formula(
        self, paillier_keys: PaillierKeys, data: st.DataObject
    ) -> None:
        pk, sk = paillier_keys
        n, nsq = pk.n, pk.nsquare
        p, q = sk.p, sk.q
        lam = gmpy2.lcm(p - 1, q - 1)
        mu = gmpy2.invert((gmpy2.powmod(n + 1, lam, nsq) - 1) // n, n)
        c = gmpy2.mpz(data.draw(st.integers(1, int(nsq) - 1), label="c"))
        if gmpy2.gcd(c, n) != 1:  # not a ciphertext; happens with probability ~2**-255
            return
        textbook = (gmpy2.powmod(c, lam, nsq) - 1) // n * mu % n
        assert sk.raw_decrypt([c]) == [textbook]

    def test_agrees_with_phe(self, paillier_keys: PaillierKeys) -> None:
        pk, sk = paillier_keys
        phe_public = phe.paillier.PaillierPublicKey(int(pk.n))
        phe_private = phe.paillier.PaillierPrivateKey(phe_public, int(sk.p), int(sk.q))
        ours = pk.encrypt([0.0, 1.5, -2.25, 1e20]).mul([3.0, -1.0, 0.5, 2.0])
        ours = ours + pk.encrypt([1.0, 1.0, 1.0, 1.0], 2 * FB)
        for c, m in zip(ours.ciphertexts, sk.raw_decrypt(ours.ciphertexts), strict=True):
            assert phe_private.raw_decrypt(int(c)) == int(m)
        # ...and the other way: phe's ciphertexts decrypt under our key, and add homomorphically.
        plaintexts = [0, 1, 12345, int(pk.n) - 7]
        theirs = [gmpy2.mpz(phe_public.raw_encrypt(m)) for m in plaintexts]
        assert sk.raw_decrypt(theirs) == plaintexts
        summed = pk.raw_add(theirs, theirs)
        assert sk.raw_decrypt(summed) == [2 * m % int(pk.n) for m in plaintexts]

    def test_public_key_serialisation_round_trip(self, paillier_keys: PaillierKeys) -> None:
        pk, sk = paillier_keys
        data = pk.to_bytes()
        assert len(data) == 64
        again = PaillierPublicKey.from_bytes(data)
        assert again == pk and hash(again) == hash(pk)
        assert again.fingerprint == pk.fingerprint and len(pk.fingerprint) == 16
        # A vector encrypted under the deserialised key decrypts with the original private key.
        assert sk.decrypt(again.encrypt([1.25, -7.0])).tolist() == [1.25, -7.0]

    def test_private_key_serialisation_round_trip(self, paillier_keys: PaillierKeys) -> None:
        pk, sk = paillier_keys
        again = PaillierPrivateKey.from_bytes(sk.to_bytes())
        assert (again.p, again.q) == (sk.p, sk.q)
        assert again.public_key == pk
        ca = pk.encrypt([3.0, -0.5, 1e-10])
        assert again.decrypt(ca).tolist() == sk.decrypt(ca).tolist()

    def test_keys_differ_by_scheme_and_modulus(
        self, paillier_keys: PaillierKeys, other_paillier_keys: PaillierKeys
    ) -> None:
        pk, sk = paillier_keys
        other, _ = other_paillier_keys
        plain_same_n = PlainPublicKey(pk.n)
        assert pk != other and pk.fingerprint != other.fingerprint
        assert pk != plain_same_n and pk.fingerprint != plain_same_n.fingerprint
        with pytest.raises(KeyMismatchError):
            sk.decrypt(plain_same_n.encrypt([1.0]))
        assert "bits=512" in repr(pk)

    @pytest.mark.parametrize("bits", [256, 258, 384, 512])
    def test_keygen_gives_exact_length(self, bits: int) -> None:
        pk, sk = generate_paillier_keypair(bits)
        assert pk.key_length == bits
        assert sk.p * sk.q == pk.n and sk.p < sk.q
        assert gmpy2.is_prime(sk.p) and gmpy2.is_prime(sk.q)
        assert pk.ciphertext_bytes == (2 * bits + 7) // 8
        assert sk.decrypt(pk.encrypt([-1.5])).tolist() == [-1.5]

    @pytest.mark.parametrize("bits", [0, 128, 255, 513])
    def test_keygen_rejects_bad_lengths(self, bits: int) -> None:
        with pytest.raises(ValueError, match="key_length"):
            generate_paillier_keypair(bits)

    def test_invalid_keys_are_rejected(self, paillier_keys: PaillierKeys) -> None:
        pk, sk = paillier_keys
        with pytest.raises(ValueError, match="modulus"):
            PaillierPublicKey(int(pk.n) + 1)  # even
        with pytest.raises(ValueError, match="modulus"):
            PaillierPublicKey((1 << 200) + 1)  # too short
        with pytest.raises(ValueError, match="p·q"):
            PaillierPrivateKey(pk, int(sk.p), int(sk.q) + 2)


@pytest.mark.slow
class TestFullSizeKey:
    """A handful of values under a real 2048-bit key, including 1e300 and subnormals."""

    VALUES: ClassVar[list[float]] = [1e300, -1e300, 1e-300, SUBNORMAL, 0.0, 1.5, -2.25]

    @given(
        values=st.lists(
            st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True),
            min_size=1,
            max_size=3,
        )
    )
    @settings(max_examples=10, deadline=None)
    def test_every_float_round_trips(self, keys_2048: PaillierKeys, values: list[float]) -> None:
        # 2**1024 · 2**53 < 2**2046: any finite float encodes under a 2048-bit key.
        pk, sk = keys_2048
        assert sk.decrypt(pk.encrypt(values)).tolist() == decoded(values)

    def test_round_trip_and_arithmetic(self, keys_2048: PaillierKeys) -> None:
        pk, sk = keys_2048
        assert pk.key_length == 2048 and pk.ciphertext_bytes == 512
        ca = pk.encrypt(self.VALUES)
        assert sk.decrypt(ca).tolist() == decoded(self.VALUES)
        assert sk.decrypt(ca + ca).tolist() == [dec(2 * enc(v), FB) for v in self.VALUES]
        assert sk.decrypt(ca * -3.0).tolist() == [
            dec(-3 * enc(v) * 2**FB, 2 * FB) for v in self.VALUES
        ]
        x = np.array([[1.0, -1.0]] * len(self.VALUES))
        assert sk.decrypt(ca.dot(x)).tolist() == [1.5 - 2.25, 2.25 - 1.5]
        # In range for the key, but beyond what a float64 holds.
        with pytest.raises(EncodingOverflowError, match="float64"):
            sk.decrypt(ca.take([0, 1]).mul(1e10, frac_bits=0))
        # In range for neither: two values whose sum leaves the plaintext range.
        # (No float64 overflows a 2048-bit key when encoded: 2**1024 · 2**960 < 2**2046.)
        top_bit = int(pk.codec.max_int).bit_length() - 1
        top_ct = pk.raw_encrypt(pk.codec.encode_ints([1 << top_bit]))
        assert pk.codec.decode_ints(sk.raw_decrypt(top_ct)) == [1 << top_bit]
        with pytest.raises(EncodingOverflowError, match="overflowed"):
            pk.codec.decode_ints(sk.raw_decrypt(pk.raw_add(top_ct, top_ct)))
        # A vector whose magnitude is not known (built from raw ciphertexts) takes no arithmetic.
        with pytest.raises(EncodingOverflowError, match="would overflow"):
            -CipherVector(pk, top_ct, 0) - CipherVector(pk, top_ct, 0)

    def test_mask_randomness_and_textbook_decryption(self, keys_2048: PaillierKeys) -> None:
        pk, sk = keys_2048
        ca = pk.encrypt(self.VALUES)
        assert len({int(c) for c in ca.ciphertexts + pk.encrypt(self.VALUES).ciphertexts}) == 14
        mask = pk.new_mask(len(ca))
        raw = sk.decrypt_raw(mask.apply(ca))
        assert all(m != u for m, u in zip(raw.elements, sk.decrypt_raw(ca).elements, strict=True))
        assert mask.remove(raw).tolist() == decoded(self.VALUES)
        n, nsq = pk.n, pk.nsquare
        lam = gmpy2.lcm(sk.p - 1, sk.q - 1)
        mu = gmpy2.invert((gmpy2.powmod(n + 1, lam, nsq) - 1) // n, n)
        for c in ca.ciphertexts[:3]:
            assert sk.raw_decrypt([c]) == [(gmpy2.powmod(c, lam, nsq) - 1) // n * mu % n]
        phe_private = phe.paillier.PaillierPrivateKey(
            phe.paillier.PaillierPublicKey(int(n)), int(sk.p), int(sk.q)
        )
        assert [phe_private.raw_decrypt(int(c)) for c in ca.ciphertexts] == [
            int(m) for m in sk.raw_decrypt(ca.ciphertexts)
        ]
