"""Okamoto–Uchiyama: the key maths, CipherVector arithmetic over it, limits, masks and keys.

Decoded results are compared with exact rational arithmetic on the fixed-point encodings
(``paillier_support``), so float rounding in a reference cannot hide an error.
"""

from __future__ import annotations

import secrets

import gmpy2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paillier_support import FB, PROPERTY, dec, decoded, enc, moderate

from fedloom.crypto import CipherVector, EncodingOverflowError, FixedPointCodec, KeyMismatchError
from fedloom.crypto.ou import (
    MIN_OU_KEY_LENGTH,
    OUPrivateKey,
    OUPublicKey,
    generate_ou_keypair,
    prime_bits,
    randomness_bits,
)

pytestmark = pytest.mark.unit
OUKeys = tuple[OUPublicKey, OUPrivateKey]

# 2**(s-2) is 2**340 at 1024 bits: room for the product of two encodings of magnitudes up to
# 1e30 (2·(100 + 53) bits); encryption alone takes up to ~1e80 (2**266 · 2**53).
wide = st.floats(min_value=-1e80, max_value=1e80, allow_subnormal=True)


@pytest.fixture(scope="session")
def ou_keys() -> OUKeys:
    return generate_ou_keypair(1024)


@pytest.fixture(scope="session")
def other_ou_keys() -> OUKeys:
    return generate_ou_keypair(1024)


@pytest.fixture(scope="session")
def ou_keys_512() -> OUKeys:
    return generate_ou_keypair(512)


def signed_ints(pk: OUPublicKey) -> st.SearchStrategy[int]:
    top = int(pk.codec.max_int)
    return st.one_of(st.sampled_from([0, 1, -1, top, -top]), st.integers(-top, top))


class TestKeyStructure:
    """The facts decryption rests on, checked on generated keys."""

    @pytest.mark.parametrize("bits", [384, 386, 512, 768, 1024, 1536])
    def test_keygen_gives_the_documented_shape(self, bits: int) -> None:
        pk, sk = generate_ou_keypair(bits)
        p, q, t = sk.p, sk.q, sk.t
        s = prime_bits(bits)
        assert pk.key_length == bits and p * p * q == pk.n
        assert p.bit_length() == s and p >= 3 << (s - 2)
        assert t.bit_length() == randomness_bits(bits) == pk.randomness_bits
        assert all(gmpy2.is_prime(x) for x in (p, q, t)) and len({p, q, t}) == 3
        assert (p - 1) % t == 0
        psq = p * p
        assert gmpy2.powmod(pk.h, t, psq) == 1
        gp = gmpy2.powmod(pk.g, t, psq)
        assert gp != 1 and gp % p == 1 and gmpy2.powmod(gp, p, psq) == 1
        assert pk.codec.max_int == (1 << (s - 2)) - 1 and 3 * pk.codec.max_int < p
        assert pk.ciphertext_bytes == (bits + 7) // 8
        assert sk.decrypt(pk.encrypt([-1.5, 2.0])).tolist() == [-1.5, 2.0]

    def test_security_parameters_by_length(self) -> None:
        assert randomness_bits(2048) == 224 and prime_bits(2048) == 683
        assert randomness_bits(3072) == 256 and randomness_bits(1536) == 160
        assert randomness_bits(512) == prime_bits(512) // 2  # capped for test-sized keys

    @pytest.mark.parametrize("bits", [0, 256, MIN_OU_KEY_LENGTH - 2, 513])
    def test_keygen_rejects_bad_lengths(self, bits: int) -> None:
        with pytest.raises(ValueError, match="key_length"):
            generate_ou_keypair(bits)

    @given(data=st.data())
    @settings(max_examples=30, deadline=None)
    def test_decryption_matches_the_textbook_formula(
        self, ou_keys: OUKeys, data: st.DataObject
    ) -> None:
        # Textbook OU: m = L(c^(p-1) mod p²) / L(G^(p-1) mod p²) mod p, no use of t.
        pk, sk = ou_keys
        p, psq = sk.p, sk.p * sk.p
        m = data.draw(signed_ints(pk), label="m")
        (c,) = pk.raw_encrypt(pk.codec.encode_ints([m]))
        num = (gmpy2.powmod(c, p - 1, psq) - 1) // p
        den = (gmpy2.powmod(pk.g, p - 1, psq) - 1) // p
        assert num * gmpy2.invert(den, p) % p == m % p
        assert sk.raw_decrypt([c]) == [m % pk.n]


class TestArithmetic:
    @given(values=st.lists(wide, min_size=0, max_size=8))
    @PROPERTY
    def test_encrypt_decrypt_round_trip(self, ou_keys: OUKeys, values: list[float]) -> None:
        pk, sk = ou_keys
        assert sk.decrypt(pk.encrypt(values)).tolist() == decoded(values)

    @given(data=st.data())
    @settings(max_examples=40, deadline=None)
    def test_raw_round_trip_over_the_whole_range(
        self, ou_keys: OUKeys, data: st.DataObject
    ) -> None:
        pk, sk = ou_keys
        ints = data.draw(st.lists(signed_ints(pk), min_size=1, max_size=4), label="ints")
        encoded = pk.codec.encode_ints(ints)
        assert pk.codec.decode_ints(sk.raw_decrypt(pk.raw_encrypt(encoded))) == ints

    def test_special_values(self, ou_keys: OUKeys) -> None:
        pk, sk = ou_keys
        values = [0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 5e-324, 1e80, -1e80, 123.456]
        assert sk.decrypt(pk.encrypt(values)).tolist() == decoded(values)
        assert sk.decrypt(pk.encrypt(-2.5)).tolist() == [-2.5]

    @given(pairs=st.lists(st.tuples(moderate, moderate), min_size=1, max_size=6))
    @PROPERTY
    def test_add_subtract_and_negate(
        self, ou_keys: OUKeys, pairs: list[tuple[float, float]]
    ) -> None:
        pk, sk = ou_keys
        a, b = [x for x, _ in pairs], [y for _, y in pairs]
        ca, cb = pk.encrypt(a), pk.encrypt(b)
        assert sk.decrypt(ca + cb).tolist() == [dec(enc(x) + enc(y), FB) for x, y in pairs]
        assert sk.decrypt(ca - cb).tolist() == [dec(enc(x) - enc(y), FB) for x, y in pairs]
        assert sk.decrypt(-ca).tolist() == [dec(-enc(x), FB) for x in a]
        assert sk.decrypt(ca + np.array(b)).tolist() == [dec(enc(x) + enc(y), FB) for x, y in pairs]

    @given(pairs=st.lists(st.tuples(moderate, moderate), min_size=1, max_size=6))
    @PROPERTY
    def test_scalar_and_elementwise_multiplication(
        self, ou_keys: OUKeys, pairs: list[tuple[float, float]]
    ) -> None:
        pk, sk = ou_keys
        a, k = [x for x, _ in pairs], [y for _, y in pairs]
        ca = pk.encrypt(a)
        assert sk.decrypt(ca.mul(k)).tolist() == [dec(enc(x) * enc(y), 2 * FB) for x, y in pairs]
        assert sk.decrypt(ca * -3.0).tolist() == [dec(-3 * enc(x) * 2**FB, 2 * FB) for x in a]

    def test_dot_and_sum_against_numpy(self, ou_keys: OUKeys) -> None:
        pk, sk = ou_keys
        rng = np.random.default_rng(7)
        d = rng.normal(size=20)
        x = np.round(rng.normal(size=(20, 4)) * 64) / 64  # exact at 23 fractional bits
        cd = pk.encrypt(d)
        got = sk.decrypt(cd.dot(x, frac_bits=23))
        expected = [
            dec(sum(enc(d[i]) * enc(x[i, j], 23) for i in range(20)), FB + 23) for j in range(4)
        ]
        assert got.tolist() == expected
        np.testing.assert_allclose(got, d @ x, rtol=1e-12, atol=1e-12)
        assert sk.decrypt(cd.sum()).tolist() == [dec(sum(enc(v) for v in d), FB)]
        assert sk.decrypt(pk.encrypt([]).sum()).tolist() == [0.0]


class TestLimits:
    """Results outside the plaintext range raise EncodingOverflowError, never a wrong number."""

    def test_encoding_beyond_the_public_bound_is_refused(self, ou_keys: OUKeys) -> None:
        pk, sk = ou_keys
        top = 2.0 ** (pk.plaintext_bits - 1 - FB)
        assert sk.decrypt(pk.encrypt([top, -top])).tolist() == [top, -top]
        with pytest.raises(EncodingOverflowError):
            pk.encrypt([2 * top])
        with pytest.raises(EncodingOverflowError):
            pk.raw_encrypt(pk.codec.encode_ints([1 << pk.plaintext_bits]))

    def test_arithmetic_that_could_overflow_is_refused_before_computing(
        self, ou_keys: OUKeys
    ) -> None:
        pk, _ = ou_keys
        top = 2.0 ** (pk.plaintext_bits - 1 - FB)
        ca, small = pk.encrypt([top]), pk.encrypt([1.0, -2.0])
        for operation in (
            lambda: ca + ca,
            lambda: ca - ca,
            lambda: ca.mul(2.0, frac_bits=0),
            lambda: ca.take([0, 0]).sum(),
            lambda: small.mul(2.0**150, frac_bits=0).mul(2.0**150, frac_bits=0),
            lambda: small.dot(np.full((2, 2), 2.0**250), frac_bits=0),
        ):
            with pytest.raises(EncodingOverflowError, match="would overflow"):
                operation()

    @given(data=st.data())
    @settings(max_examples=60, deadline=None)
    def test_one_raw_addition_is_exact_or_raises(
        self, ou_keys_512: OUKeys, data: st.DataObject
    ) -> None:
        # 3·max_int < p: the sum of two valid plaintexts never wraps to a valid-looking value.
        pk, sk = ou_keys_512
        a, b = data.draw(signed_ints(pk), label="a"), data.draw(signed_ints(pk), label="b")
        total = sk.raw_decrypt(
            pk.raw_add(
                pk.raw_encrypt(pk.codec.encode_ints([a])), pk.raw_encrypt(pk.codec.encode_ints([b]))
            )
        )
        if abs(a + b) <= pk.codec.max_int:
            assert pk.codec.decode_ints(total) == [a + b]
        else:
            with pytest.raises(EncodingOverflowError):
                pk.codec.decode_ints(total)

    def test_codec_range_argument(self) -> None:
        n = (1 << 100) + 1
        assert FixedPointCodec(n).max_int == (n - 1) // 3
        codec = FixedPointCodec(n, max_int=1000)
        assert codec.max_int == 1000 and codec.decode_ints(codec.encode_ints([-1000, 7])) == [
            -1000,
            7,
        ]
        with pytest.raises(EncodingOverflowError):
            codec.encode_ints([1001])
        with pytest.raises(EncodingOverflowError):
            codec.decode_ints([n - 1001])
        for bad in (0, -1, (n - 1) // 3 + 1):
            with pytest.raises(ValueError, match="max_int"):
                FixedPointCodec(n, max_int=bad)


class TestRandomnessAndMasks:
    def test_ciphertexts_are_units_mod_n(self, ou_keys: OUKeys) -> None:
        pk, _ = ou_keys
        for c in pk.encrypt(np.linspace(-5, 5, 11)).ciphertexts:
            assert 0 < c < pk.n and gmpy2.gcd(c, pk.n) == 1

    def test_statistical_mask_round_trip(self, ou_keys: OUKeys) -> None:
        pk, sk = ou_keys
        values = [1.25, -7.0, 0.0, 3e5]
        cv = pk.encrypt(values) - pk.encrypt([0.25] * 4)
        mask = pk.new_mask(len(cv), bound_bits=cv.bound_bits)
        raw = sk.decrypt_raw(mask.apply(cv))
        plain = sk.decrypt_raw(cv).elements
        assert all(m != u for m, u in zip(raw.elements, plain, strict=True))
        assert all(0 <= m < 1 << (cv.bound_bits + 82) for m in raw.elements)
        assert mask.remove(raw).tolist() == [1.0, -7.25, -0.25, 3e5 - 0.25]

    def test_uniform_masks_are_refused(self, ou_keys: OUKeys) -> None:
        pk, _ = ou_keys
        with pytest.raises(ValueError, match="statistical masks"):
            pk.new_mask(3)
        with pytest.raises(EncodingOverflowError):
            pk.new_mask(3, bound_bits=pk.plaintext_bits)


class TestKeys:
    def test_wrong_key_is_refused(self, ou_keys: OUKeys, other_ou_keys: OUKeys) -> None:
        pk, _ = ou_keys
        other_pk, other_sk = other_ou_keys
        ca, cb = pk.encrypt([1.0]), other_pk.encrypt([1.0])
        with pytest.raises(KeyMismatchError):
            other_sk.decrypt(ca)
        with pytest.raises(KeyMismatchError):
            ca + cb
        with pytest.raises(KeyMismatchError):
            other_pk.new_mask(1, bound_bits=ca.bound_bits).apply(ca)
        assert pk != other_pk and pk.fingerprint != other_pk.fingerprint

    def test_g_and_h_are_part_of_the_key_identity(self, ou_keys: OUKeys) -> None:
        # Same n, another H: a different key, so nobody can swap in bases of their own choice.
        pk, sk = ou_keys
        forged = OUPublicKey(pk.n, pk.g, pk.g)
        assert forged != pk and forged.fingerprint != pk.fingerprint
        with pytest.raises(KeyMismatchError):
            sk.decrypt(forged.encrypt([1.0]))
        with pytest.raises(ValueError, match="H"):
            OUPrivateKey(forged, sk.p, sk.q, sk.t)

    def test_public_key_serialisation_round_trip(self, ou_keys: OUKeys) -> None:
        pk, sk = ou_keys
        again = OUPublicKey.from_bytes(pk.to_bytes())
        assert again == pk and hash(again) == hash(pk) and again.fingerprint == pk.fingerprint
        assert len(pk.fingerprint) == 16 and "bits=1024" in repr(pk)
        assert sk.decrypt(again.encrypt([1.25, -7.0])).tolist() == [1.25, -7.0]

    def test_private_key_serialisation_round_trip(self, ou_keys: OUKeys) -> None:
        pk, sk = ou_keys
        again = OUPrivateKey.from_bytes(sk.to_bytes())
        assert (again.p, again.q, again.t) == (sk.p, sk.q, sk.t) and again.public_key == pk
        ca = pk.encrypt([3.0, -0.5, 1e-10])
        assert again.decrypt(ca).tolist() == sk.decrypt(ca).tolist() == decoded([3.0, -0.5, 1e-10])

    def test_invalid_public_keys_are_refused(self, ou_keys: OUKeys) -> None:
        pk, _ = ou_keys
        n, g, h = int(pk.n), int(pk.g), int(pk.h)
        for args in [
            (n + 1, g, h),  # even
            ((1 << 300) + 1, 3, 5),  # too short
            (n, 1, h),
            (n, g, n - 1),
            (n, 0, h),
            (n, g, n),
        ]:
            with pytest.raises(ValueError):
                OUPublicKey(*args)
        body = pk.to_bytes()
        for bad in (body[:-1], body + b"\0", b"", body[:3]):
            with pytest.raises(ValueError):
                OUPublicKey.from_bytes(bad)

    def test_invalid_private_keys_are_refused(self, ou_keys: OUKeys) -> None:
        pk, sk = ou_keys
        p, q, t = int(sk.p), int(sk.q), int(sk.t)
        with pytest.raises(ValueError, match="modulus"):
            OUPrivateKey(pk, p, q + 2, t)
        with pytest.raises(ValueError, match="modulus"):
            OUPrivateKey(pk, q, p, t)
        with pytest.raises(ValueError, match="t does not divide"):
            OUPrivateKey(pk, p, q, t + 2)
        with pytest.raises(ValueError, match="prime"):
            OUPrivateKey(pk, p, q, (p - 1) // t)  # divides p − 1, but u is even
        other_pk, _ = generate_ou_keypair(768)
        with pytest.raises(ValueError):
            OUPrivateKey(other_pk, p, q, t)
        with pytest.raises(ValueError):
            OUPrivateKey.from_bytes(sk.to_bytes()[:-1])


def test_full_size_key() -> None:
    """A real 2048-bit key: sizes, the full plaintext range, arithmetic and masks."""
    pk, sk = generate_ou_keypair(2048)
    assert pk.key_length == 2048 and pk.ciphertext_bytes == 256
    assert pk.plaintext_bits == 681 and pk.randomness_bits == 224 and sk.t.bit_length() == 224
    values = [1e150, -1e150, 1e-300, 0.0, 1.5, -2.25]
    ca = pk.encrypt(values)
    assert sk.decrypt(ca).tolist() == decoded(values)
    small = ca.take([2, 3, 4, 5])
    assert sk.decrypt(small * -3.0 + small).tolist() == [
        dec(-3 * enc(v) * 2**FB + enc(v) * 2**FB, 2 * FB) for v in values[2:]
    ]
    x = np.array([[1.0, -1.0]] * 4)
    assert sk.decrypt(small.dot(x)).tolist() == [1.5 - 2.25, 2.25 - 1.5]
    top = secrets.randbits(pk.plaintext_bits - 1) | (1 << (pk.plaintext_bits - 1))
    for m in (top, -top, int(pk.codec.max_int)):
        (c,) = pk.raw_encrypt(pk.codec.encode_ints([m]))
        assert pk.codec.decode_ints(sk.raw_decrypt([c])) == [m]
    with pytest.raises(EncodingOverflowError):
        pk.encrypt([1e300])  # 2**997 · 2**53 is past 2**681
    mask = pk.new_mask(len(ca), bound_bits=ca.bound_bits)
    assert mask.remove(sk.decrypt_raw(mask.apply(ca))).tolist() == decoded(values)
    assert isinstance(ca.rerandomize(), CipherVector)
