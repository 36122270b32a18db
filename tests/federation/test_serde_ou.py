"""The wire format for Okamoto–Uchiyama keys and ciphertexts, under the receiver's key policy."""

from __future__ import annotations

import struct

import gmpy2
import numpy as np
import pytest
from serde_support import policy_ring

from fedloom.crypto import CipherVector, RawPlaintexts
from fedloom.crypto.ou import OUPrivateKey, OUPublicKey, generate_ou_keypair
from fedloom.federation.serde import MAGIC, KeyRing, Serde
from fedloom.federation.types import SerdeError

pytestmark = pytest.mark.unit

OUKeys = tuple[OUPublicKey, OUPrivateKey]


@pytest.fixture(scope="module")
def ou_keys() -> OUKeys:
    return generate_ou_keypair(768)


def key_payload(scheme: bytes, body: bytes) -> bytes:
    return (
        MAGIC + struct.pack(">BB", 10, len(scheme)) + scheme + struct.pack(">I", len(body)) + body
    )


def vector_payload(
    pk: OUPublicKey,
    elements: list[int],
    *,
    tag: int = 11,
    bound_bits: int = 120,
    width: int | None = None,
) -> bytes:
    width = pk.ciphertext_bytes if width is None else width
    body = b"".join(e.to_bytes(width, "big") for e in elements)
    header = struct.pack(">IIQI", 53, bound_bits, len(elements), width)
    return MAGIC + bytes([tag]) + pk.fingerprint + header + body


def test_public_key_round_trip(ou_keys: OUKeys) -> None:
    pk, _ = ou_keys
    ring = policy_ring()
    out = Serde(ring).loads(Serde(policy_ring()).dumps(pk))
    assert isinstance(out, OUPublicKey) and out == pk
    assert (out.g, out.h) == (pk.g, pk.h)
    assert ring.get(pk.fingerprint) == pk


@pytest.mark.parametrize("frac_bits", [0, 53, 106])
def test_cipher_vector_round_trip(ou_keys: OUKeys, frac_bits: int) -> None:
    pk, sk = ou_keys
    cv = pk.encrypt([1.5, -2.0, 0.0, 1e-300, 1e20], frac_bits)
    key, vector = Serde(policy_ring()).loads(Serde(policy_ring()).dumps([pk, cv]))
    assert key == pk and isinstance(vector, CipherVector)
    assert vector.public_key == pk and vector.frac_bits == frac_bits
    assert vector.ciphertexts == cv.ciphertexts and vector.bound_bits == cv.bound_bits
    assert all(type(c) is type(gmpy2.mpz(0)) for c in vector.ciphertexts)
    assert sk.decrypt(vector).tolist() == sk.decrypt(cv).tolist()
    assert sk.decrypt(vector + cv).tolist() == sk.decrypt(cv + cv).tolist()


def test_ciphertexts_are_half_the_width_of_paillier(ou_keys: OUKeys) -> None:
    pk, _ = ou_keys
    serde = Serde(policy_ring())
    serde.keyring.add(pk)
    assert pk.ciphertext_bytes == 96
    for count in (0, 1, 7):
        data = serde.dumps(pk.encrypt(np.ones(count)))
        assert len(data) == len(MAGIC) + 1 + 16 + 4 + 4 + 8 + 4 + count * 96


def test_masked_raw_plaintexts_round_trip(ou_keys: OUKeys) -> None:
    pk, sk = ou_keys
    serde = Serde(policy_ring())
    serde.keyring.add(pk)
    cv = pk.encrypt([1.0, -2.0, 3.5])
    mask = pk.new_mask(3, bound_bits=cv.bound_bits)
    raw = sk.decrypt_raw(mask.apply(cv))
    out = serde.loads(serde.dumps(raw))
    assert isinstance(out, RawPlaintexts) and out == raw
    assert mask.remove(out).tolist() == [1.0, -2.0, 3.5]


def test_key_policy_applies_to_ou() -> None:
    small_pk, _ = generate_ou_keypair(1024)
    data = Serde(policy_ring()).dumps(small_pk)
    with pytest.raises(SerdeError, match="refusing a 1024-bit ou key; policy minimum is 2048"):
        Serde(KeyRing()).loads(data)
    with pytest.raises(SerdeError, match="policy minimum is 2048"):
        Serde(KeyRing()).dumps(small_pk)
    full_pk, _ = generate_ou_keypair(2048)
    assert Serde(KeyRing()).loads(Serde(KeyRing()).dumps(full_pk)) == full_pk


def test_ciphertexts_under_an_unknown_or_substituted_key_are_refused(ou_keys: OUKeys) -> None:
    pk, _ = ou_keys
    data = Serde(policy_ring()).dumps(pk.encrypt([1.0]))
    with pytest.raises(SerdeError, match="unknown key"):
        Serde(policy_ring()).loads(data)
    # A key with the same n but bases of someone else's choosing is a different key.
    receiver = Serde(policy_ring())
    receiver.loads(Serde(policy_ring()).dumps(OUPublicKey(pk.n, pk.g, pk.g)))
    with pytest.raises(SerdeError, match="unknown key"):
        receiver.loads(data)


def test_invalid_key_bodies_are_refused(ou_keys: OUKeys) -> None:
    pk, _ = ou_keys
    serde = Serde(policy_ring())
    body = pk.to_bytes()
    n_bytes = body[: 4 + int.from_bytes(body[:4], "big")]
    one = (1).to_bytes(4, "big") + b"\x01"
    for bad in (b"", body[:-1], body + b"\0", n_bytes + one + one, n_bytes * 3):
        with pytest.raises(SerdeError, match="invalid ou public key"):
            serde.loads(key_payload(b"ou", bad))


def test_forged_vectors_are_refused(ou_keys: OUKeys) -> None:
    pk, _ = ou_keys
    serde = Serde(policy_ring())
    serde.keyring.add(pk)
    n = int(pk.n)
    assert isinstance(serde.loads(vector_payload(pk, [1, n - 1])), CipherVector)
    with pytest.raises(SerdeError, match="out of range"):
        serde.loads(vector_payload(pk, [1, n]))
    with pytest.raises(SerdeError, match="out of range"):
        serde.loads(vector_payload(pk, [n], tag=12))
    with pytest.raises(SerdeError, match="ciphertext is 0"):
        serde.loads(vector_payload(pk, [1, 0]))
    with pytest.raises(SerdeError, match="width"):
        serde.loads(vector_payload(pk, [1], width=2 * pk.ciphertext_bytes))
    with pytest.raises(SerdeError, match="bound_bits"):
        serde.loads(vector_payload(pk, [1], bound_bits=pk.key_length + 1))
