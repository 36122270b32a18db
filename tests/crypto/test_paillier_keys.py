"""Paillier keys and limits: overflow refusals, randomness, CRT decryption, key serialisation,
interop with phe, and a real 2048-bit key."""

from __future__ import annotations

from typing import ClassVar

import gmpy2
import numpy as np
import phe.paillier
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paillier_support import (
    FB,
    SUBNORMAL,
    Keys,
    PaillierKeys,
    dec,
    decoded,
    enc,
)

from fedloom.crypto import (
    CipherVector,
    EncodingOverflowError,
    KeyMismatchError,
    PaillierPrivateKey,
    PaillierPublicKey,
    PlainPublicKey,
    PublicKey,
    generate_paillier_keypair,
)

pytestmark = pytest.mark.unit


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
