"""Tests for fedloom.crypto.paillier and the CipherVector arithmetic over it.

The arithmetic properties run against both the real Paillier key and the plaintext stand-in
(the ``keys`` fixture is parametrised); every decoded result is compared with exact rational
arithmetic on the fixed-point encodings, so float rounding in the reference cannot hide an error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paillier_support import (
    FB,
    PROPERTY,
    Keys,
    PaillierKeys,
    dec,
    decoded,
    enc,
    moderate,
    vectors,
    wide,
)

from fedloom.crypto import (
    CipherVector,
    EncodingOverflowError,
    KeyMismatchError,
    RawPlaintexts,
)

pytestmark = pytest.mark.unit


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
