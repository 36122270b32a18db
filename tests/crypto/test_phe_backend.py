"""fedloom.crypto.phe_backend: python-paillier computes the same results as fedloom's engine.

Keys and ciphertexts are interchangeable between the two backends; only who computes differs.
"""

from __future__ import annotations

import gmpy2
import numpy as np
import pytest
from paillier_support import PaillierKeys

from fedloom.crypto import (
    CipherVector,
    PaillierPrivateKey,
    PaillierPublicKey,
    PrivateKey,
    PublicKey,
    generate_plain_keypair,
)
from fedloom.crypto.keys import generate_keypair
from fedloom.crypto.phe_backend import (
    PhePaillierPrivateKey,
    PhePaillierPublicKey,
    private_key_with_backend,
    with_backend,
)
from fedloom.federation import KeyRing, Serde

pytestmark = pytest.mark.unit

VALUES = np.array([0.0, 1.5, -2.75, 1e-5, -3e10, 123.456, -0.001, 7.0])
OTHER = np.array([2.0, -1.25, 0.5, -1e-3, 1e9, -0.456, 3.0, -7.0])
MATRIX = np.random.default_rng(5).normal(size=(VALUES.size, 3))


@pytest.fixture(scope="module")
def both(paillier_keys: PaillierKeys) -> dict[str, tuple[PublicKey, PrivateKey]]:
    """The same key pair on each backend."""
    public, private = paillier_keys
    return {
        "fedloom": (public, private),
        "phe": (with_backend(public, "phe"), private_key_with_backend(private, "phe")),
    }


def _results(public: PublicKey, private: PrivateKey) -> list[np.ndarray]:
    a, b = public.encrypt(VALUES), public.encrypt(OTHER)
    return [
        private.decrypt(a),
        private.decrypt(a + b),
        private.decrypt(a + OTHER),
        private.decrypt(a - b),
        private.decrypt(a.mul(0.731)),
        private.decrypt(a.mul(-1.377)),
        private.decrypt(a.mul(OTHER)),
        private.decrypt(a.dot(MATRIX, 23)),
        private.decrypt(a.sum()),
        private.decrypt(a.rerandomize()),
    ]


def test_backends_are_the_expected_types(both: dict[str, tuple[PublicKey, PrivateKey]]) -> None:
    public, private = both["phe"]
    assert isinstance(public, PhePaillierPublicKey) and isinstance(private, PhePaillierPrivateKey)
    assert type(both["fedloom"][0]) is PaillierPublicKey
    assert public.scheme == "paillier"


def test_every_operation_decrypts_to_the_same_values(
    both: dict[str, tuple[PublicKey, PrivateKey]],
) -> None:
    ours, theirs = _results(*both["fedloom"]), _results(*both["phe"])
    for mine, phe in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine, phe)
    np.testing.assert_allclose(ours[0], VALUES, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours[7], VALUES @ MATRIX, rtol=1e-6)


def test_ciphertexts_cross_backends(both: dict[str, tuple[PublicKey, PrivateKey]]) -> None:
    (fl_pk, fl_sk), (phe_pk, phe_sk) = both["fedloom"], both["phe"]
    expected = fl_sk.decrypt(fl_pk.encrypt(VALUES))
    np.testing.assert_array_equal(phe_sk.decrypt(fl_pk.encrypt(VALUES)), expected)
    np.testing.assert_array_equal(fl_sk.decrypt(phe_pk.encrypt(VALUES)), expected)
    mixed = fl_pk.encrypt(VALUES) + phe_pk.encrypt(OTHER)
    np.testing.assert_array_equal(phe_sk.decrypt(mixed), fl_sk.decrypt(mixed))


def test_phe_ciphertexts_are_fresh_and_randomised(
    both: dict[str, tuple[PublicKey, PrivateKey]],
) -> None:
    public, private = both["phe"]
    a = public.encrypt(VALUES)
    assert a.ciphertexts != public.encrypt(VALUES).ciphertexts
    again = a.rerandomize()
    assert all(x != y for x, y in zip(a.ciphertexts, again.ciphertexts, strict=True))
    raw = private.decrypt_raw(again)
    assert all(isinstance(m, type(gmpy2.mpz(0))) for m in raw.elements)


def test_keys_are_equal_across_backends_and_on_the_wire(
    both: dict[str, tuple[PublicKey, PrivateKey]],
) -> None:
    fl, phe = both["fedloom"][0], both["phe"][0]
    assert fl == phe and hash(fl) == hash(phe) and fl.fingerprint == phe.fingerprint
    assert fl.to_bytes() == phe.to_bytes() and fl.ciphertext_bytes == phe.ciphertext_bytes
    serde = Serde(KeyRing(min_key_length=512))
    received = Serde(KeyRing(min_key_length=512))
    key = received.loads(serde.dumps(phe))
    assert type(key) is PaillierPublicKey and key == phe
    vector = received.loads(serde.dumps(phe.encrypt(VALUES)))
    assert isinstance(vector, CipherVector)
    np.testing.assert_allclose(both["fedloom"][1].decrypt(vector), VALUES, rtol=1e-12, atol=1e-15)


def test_with_backend_round_trips_and_keeps_identity(
    both: dict[str, tuple[PublicKey, PrivateKey]],
) -> None:
    fl_pk, fl_sk = both["fedloom"]
    assert with_backend(fl_pk, "fedloom") is fl_pk
    assert private_key_with_backend(fl_sk, "fedloom") is fl_sk
    phe_pk, phe_sk = both["phe"]
    assert with_backend(phe_pk, "phe") is phe_pk
    assert private_key_with_backend(phe_sk, "phe") is phe_sk
    back = with_backend(phe_pk, "fedloom")
    assert type(back) is PaillierPublicKey and back == fl_pk
    back_sk = private_key_with_backend(phe_sk, "fedloom")
    assert type(back_sk) is PaillierPrivateKey and back_sk.public_key == fl_pk


def test_phe_backend_refuses_other_schemes() -> None:
    public, private = generate_plain_keypair(512)
    with pytest.raises(ValueError, match=r"implements Paillier only.*'plain'"):
        with_backend(public, "phe")
    with pytest.raises(ValueError, match=r"implements Paillier only.*'plain'"):
        private_key_with_backend(private, "phe")
    assert with_backend(public, "fedloom") is public
    with pytest.raises(ValueError, match="unknown crypto backend 'gpu'"):
        with_backend(public, "gpu")  # type: ignore[arg-type]


def test_generate_keypair_dispatch() -> None:
    public, _ = generate_keypair("paillier", 512)
    assert type(public) is PaillierPublicKey and public.key_length == 512
    phe_public, phe_private = generate_keypair("paillier", 512, backend="phe")
    assert isinstance(phe_public, PhePaillierPublicKey) and phe_public.key_length == 512
    np.testing.assert_allclose(
        phe_private.decrypt(phe_public.encrypt(VALUES)), VALUES, rtol=1e-12, atol=1e-15
    )
    with pytest.raises(ValueError, match="implements Paillier only, not 'ou'"):
        generate_keypair("ou", 768, backend="phe")
    with pytest.raises(ValueError, match="unknown encryption method 'rsa'"):
        generate_keypair("rsa", 512)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="even number"):
        generate_keypair("paillier", 511, backend="phe")


def test_generate_keypair_ou() -> None:
    public, private = generate_keypair("ou", 768)
    assert public.scheme == "ou"
    np.testing.assert_allclose(
        private.decrypt(public.encrypt(VALUES)), VALUES, rtol=1e-12, atol=1e-15
    )


def test_phe_owner_encrypts_with_phe(both: dict[str, tuple[PublicKey, PrivateKey]]) -> None:
    public, private = both["phe"]
    assert isinstance(private, PhePaillierPrivateKey)
    assert private.owner_public_key() is private.public_key and private.public_key == public
    np.testing.assert_array_equal(
        private.decrypt(private.encrypt(VALUES)), _results(*both["fedloom"])[0]
    )
