"""Tests for fedloom.crypto.plain: the stand-in must agree with real Paillier on every result.

The differential tests build a PlainPublicKey on the *same* modulus as a Paillier key, run one
random program of homomorphic operations on both, and require identical decryptions, down to the
undecoded elements of Z_n and to which results overflow.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedloom.crypto import (
    CipherVector,
    EncodingOverflowError,
    KeyMismatchError,
    Mask,
    PaillierPrivateKey,
    PaillierPublicKey,
    PlainPrivateKey,
    PlainPublicKey,
    PrivateKey,
    PublicKey,
    generate_paillier_keypair,
    generate_plain_keypair,
)

pytestmark = pytest.mark.unit

Pair = tuple[PublicKey, PrivateKey]

values = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 5e-324, sys.float_info.min / 3, 1e30]),
    st.floats(min_value=-1e30, max_value=1e30, allow_subnormal=True),
)


@pytest.fixture(scope="session")
def twin_keys() -> tuple[Pair, Pair]:
    """A Paillier key pair and a stand-in pair over the very same modulus n."""
    pk, sk = generate_paillier_keypair(512)
    plain_pk = PlainPublicKey(pk.n)
    return (pk, sk), (plain_pk, PlainPrivateKey(plain_pk))


Step = Callable[[CipherVector, PublicKey], CipherVector]


def _steps() -> st.SearchStrategy[tuple[str, Step]]:
    """One homomorphic operation on a vector of length 4 (a label for failure reports)."""
    scalar = values
    vec4 = st.lists(values, min_size=4, max_size=4)
    return st.one_of(
        scalar.map(lambda k: (f"mul {k!r}", lambda cv, pk: cv.mul(k))),
        scalar.map(lambda k: (f"mul0 {k!r}", lambda cv, pk: cv.mul(k, frac_bits=0))),
        vec4.map(lambda v: (f"elementwise {v!r}", lambda cv, pk: cv.mul(np.array(v)))),
        vec4.map(lambda v: (f"add plain {v!r}", lambda cv, pk: cv + np.array(v))),
        vec4.map(lambda v: (f"rsub plain {v!r}", lambda cv, pk: np.array(v) - cv)),
        vec4.map(lambda v: (f"add enc {v!r}", lambda cv, pk: cv + pk.encrypt(v))),
        vec4.map(lambda v: (f"sub enc20 {v!r}", lambda cv, pk: cv - pk.encrypt(v, 20))),
        st.just(("neg", lambda cv, pk: -cv)),
        st.just(("rerandomize", lambda cv, pk: cv.rerandomize())),
        st.just(("double", lambda cv, pk: cv + cv)),
        st.permutations(range(4)).map(
            lambda p: (f"take {p!r}", lambda cv, pk: cv.take(np.array(p)))
        ),
        st.lists(st.lists(values, min_size=4, max_size=4), min_size=4, max_size=4).map(
            lambda m: (f"dot {m!r}", lambda cv, pk: cv.dot(np.array(m).T, frac_bits=0))
        ),
        st.just(("sum+concat", lambda cv, pk: CipherVector.concat([cv.take([0, 1, 2]), cv.sum()]))),
    )


def _outcome(pk: PublicKey, sk: PrivateKey, cv: CipherVector) -> tuple[str, object]:
    """What a party observes when decrypting: the raw elements and the decoded floats (or the
    overflow)."""
    raw = [int(m) for m in sk.decrypt_raw(cv).elements]
    try:
        return "ok", (raw, sk.decrypt(cv).tolist(), cv.frac_bits)
    except EncodingOverflowError:
        return "overflow", (raw, cv.frac_bits)


@given(start=st.lists(values, min_size=4, max_size=4), program=st.lists(_steps(), max_size=4))
@settings(max_examples=60, deadline=None)
def test_stand_in_agrees_with_paillier_on_random_programs(
    twin_keys: tuple[Pair, Pair], start: list[float], program: list[tuple[str, Step]]
) -> None:
    (pk, sk), (plain_pk, plain_sk) = twin_keys
    real, fake = pk.encrypt(start), plain_pk.encrypt(start)
    assert _outcome(pk, sk, real) == _outcome(plain_pk, plain_sk, fake)
    for _label, step in program:
        refused = []
        for key, vector in ((pk, real), (plain_pk, fake)):
            try:
                step(vector, key)
            except EncodingOverflowError:
                refused.append(key.scheme)
        # Both refuse the same step up front (the bound depends only on the key size), or both
        # compute it and decrypt to the same thing.
        assert refused in ([], ["paillier", "plain"])
        if refused:
            break
        real, fake = step(real, pk), step(fake, plain_pk)
        assert _outcome(pk, sk, real) == _outcome(plain_pk, plain_sk, fake)


@given(a=st.lists(values, min_size=1, max_size=6))
@settings(max_examples=30, deadline=None)
def test_masking_agrees(twin_keys: tuple[Pair, Pair], a: list[float]) -> None:
    (pk, sk), (plain_pk, plain_sk) = twin_keys
    elements = pk.new_mask(len(a)).elements
    real_mask, fake_mask = Mask(pk, elements), Mask(plain_pk, elements)
    real_raw = sk.decrypt_raw(real_mask.apply(pk.encrypt(a).mul(3.0)))
    fake_raw = plain_sk.decrypt_raw(fake_mask.apply(plain_pk.encrypt(a).mul(3.0)))
    assert real_raw.elements == fake_raw.elements
    assert real_mask.remove(real_raw).tolist() == fake_mask.remove(fake_raw).tolist()


def test_overflow_agrees(twin_keys: tuple[Pair, Pair]) -> None:
    (pk, sk), (plain_pk, plain_sk) = twin_keys
    big = 2.0 ** (int(pk.codec.max_int).bit_length() - 1 - 53)
    for key, private in ((pk, sk), (plain_pk, plain_sk)):
        with pytest.raises(EncodingOverflowError):
            key.encrypt([4 * big])
        with pytest.raises(EncodingOverflowError):
            private.decrypt(key.encrypt([big, -big]).mul(2.0, frac_bits=0))


class TestStandIn:
    def test_is_the_identity_and_has_no_randomness(self) -> None:
        pk, sk = generate_plain_keypair(512)
        cv = pk.encrypt([1.0, -2.0])
        # The stand-in is transparent: the "ciphertext" is the encoded plaintext itself.
        assert cv.ciphertexts == pk.codec.encode([1.0, -2.0], cv.frac_bits)
        assert cv.rerandomize().ciphertexts == cv.ciphertexts
        assert pk.encrypt([1.0, -2.0]).ciphertexts == cv.ciphertexts
        assert sk.raw_decrypt(cv.ciphertexts) == cv.ciphertexts

    @pytest.mark.parametrize("bits", [256, 512, 1024, 2048])
    def test_keypair_has_the_size_of_a_real_key(self, bits: int) -> None:
        pk, sk = generate_plain_keypair(bits)
        assert pk.key_length == bits and pk.n % 2 == 1
        assert pk.ciphertext_bytes == (bits + 7) // 8
        assert pk.scheme == "plain" and sk.public_key is pk
        assert sk.decrypt(pk.encrypt([0.25])).tolist() == [0.25]

    def test_default_keypair_is_2048_bits(self) -> None:
        pk, _ = generate_plain_keypair()
        assert pk.key_length == 2048

    def test_serialisation_round_trip(self) -> None:
        pk, sk = generate_plain_keypair(512)
        again = PlainPublicKey.from_bytes(pk.to_bytes())
        assert again == pk and again.fingerprint == pk.fingerprint
        assert sk.decrypt(again.encrypt([3.5])).tolist() == [3.5]

    def test_is_never_confused_with_paillier(self, twin_keys: tuple[Pair, Pair]) -> None:
        (pk, sk), (plain_pk, plain_sk) = twin_keys
        assert isinstance(pk, PaillierPublicKey) and isinstance(sk, PaillierPrivateKey)
        assert plain_pk != pk and plain_pk.fingerprint != pk.fingerprint
        assert len({pk, plain_pk}) == 2
        with pytest.raises(KeyMismatchError):
            plain_sk.decrypt(pk.encrypt([1.0]))
        with pytest.raises(KeyMismatchError):
            sk.decrypt(plain_pk.encrypt([1.0]))
        with pytest.raises(KeyMismatchError):
            pk.encrypt([1.0]) + plain_pk.encrypt([1.0])

    def test_modulus_divisible_by_three_still_detects_overflow(self) -> None:
        # The stand-in's n is any odd number; a multiple of 3 must not weaken overflow checks.
        n = 3 * ((1 << 510) + 15)
        assert n % 3 == 0
        pk = PlainPublicKey(n)
        sk = PlainPrivateKey(pk)
        top = int(pk.codec.max_int)
        cv = CipherVector(pk, pk.codec.encode_ints([top, -top]), 0)
        assert pk.codec.decode_ints(sk.raw_decrypt(cv.ciphertexts)) == [top, -top]
        with pytest.raises(EncodingOverflowError):
            sk.decrypt(cv.mul(2.0, frac_bits=0))
