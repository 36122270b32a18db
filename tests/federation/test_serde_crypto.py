"""The wire format: public keys and ciphertext vectors, under the receiving party's key policy."""

from __future__ import annotations

import struct
import time

import gmpy2
import numpy as np
import pytest
from serde_support import PaillierKeys, policy_ring

from fedloom.crypto import (
    CipherVector,
    PaillierPublicKey,
    PlainPublicKey,
    RawPlaintexts,
    generate_paillier_keypair,
    generate_plain_keypair,
)
from fedloom.federation.serde import MAGIC, KeyRing, Serde
from fedloom.federation.types import SerdeError

pytestmark = pytest.mark.unit


# -- keys and ciphertexts ------------------------------------------------------------------


class TestKeysAndCiphertexts:
    def test_public_keys_round_trip(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        plain_pk, _ = generate_plain_keypair(512)
        ring = policy_ring()
        sender, receiver = Serde(policy_ring()), Serde(ring)
        out = receiver.loads(sender.dumps([pk, plain_pk]))
        assert out == [pk, plain_pk]
        assert isinstance(out[0], PaillierPublicKey) and isinstance(out[1], PlainPublicKey)
        assert ring.get(pk.fingerprint) == pk and ring.get(plain_pk.fingerprint) == plain_pk

    @pytest.mark.parametrize("frac_bits", [0, 53, 106])
    def test_cipher_vector_round_trip(self, paillier_keys: PaillierKeys, frac_bits: int) -> None:
        pk, sk = paillier_keys
        cv = pk.encrypt([1.5, -2.0, 0.0, 1e-300, 1e100], frac_bits)
        sender, receiver = Serde(policy_ring()), Serde(policy_ring())
        key, vector = receiver.loads(sender.dumps([pk, cv]))
        assert key == pk and isinstance(vector, CipherVector)
        assert vector.public_key == pk and vector.frac_bits == frac_bits
        assert vector.ciphertexts == cv.ciphertexts
        assert all(type(c) is type(gmpy2.mpz(0)) for c in vector.ciphertexts)
        assert sk.decrypt(vector).tolist() == sk.decrypt(cv).tolist()
        # The received vector is usable for arithmetic right away.
        assert sk.decrypt(vector + cv).tolist() == sk.decrypt(cv + cv).tolist()

    def test_layout_is_fixed_width(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        serde = Serde(policy_ring())
        for count in (0, 1, 7):
            data = serde.dumps(pk.encrypt(np.ones(count)))
            assert len(data) == len(MAGIC) + 1 + 16 + 4 + 4 + 8 + 4 + count * pk.ciphertext_bytes

    def test_plain_vectors_and_raw_plaintexts_round_trip(self, paillier_keys: PaillierKeys) -> None:
        pk, sk = paillier_keys
        plain_pk, plain_sk = generate_plain_keypair(512)
        serde = Serde(policy_ring())
        serde.keyring.add(pk)
        serde.keyring.add(plain_pk)
        mask = pk.new_mask(3)
        raw = sk.decrypt_raw(mask.apply(pk.encrypt([1.0, -2.0, 3.5])))
        plain_cv = plain_pk.encrypt([4.0, -0.25])
        plain_raw = plain_sk.decrypt_raw(plain_cv)
        out_raw, out_cv, out_plain_raw, empty = serde.loads(
            serde.dumps([raw, plain_cv, plain_raw, pk.encrypt([])])
        )
        assert isinstance(out_raw, RawPlaintexts) and out_raw == raw
        assert mask.remove(out_raw).tolist() == [1.0, -2.0, 3.5]
        assert plain_sk.decrypt(out_cv).tolist() == [4.0, -0.25]
        assert out_plain_raw == plain_raw
        assert isinstance(empty, CipherVector) and len(empty) == 0

    def test_plain_keys_are_refused_unless_allowed(self) -> None:
        plain_pk, _ = generate_plain_keypair(2048)
        data = Serde(policy_ring()).dumps(plain_pk)
        with pytest.raises(SerdeError, match="plaintext stand-in"):
            Serde(KeyRing()).loads(data)
        with pytest.raises(SerdeError, match="plaintext stand-in"):
            Serde(policy_ring(allow_plain=False)).loads(data)
        # A party whose policy refuses the stand-in refuses to send it, too.
        with pytest.raises(SerdeError, match="plaintext stand-in"):
            Serde(KeyRing()).dumps(plain_pk)

    def test_short_keys_are_refused(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        data = Serde(policy_ring()).dumps(pk)
        with pytest.raises(SerdeError, match="512-bit"):
            Serde(policy_ring(min_key_length=1024)).loads(data)
        with pytest.raises(SerdeError, match="policy minimum is 2048"):
            Serde(KeyRing()).loads(data)
        assert Serde(policy_ring(min_key_length=512)).loads(data) == pk

    def test_ciphertexts_under_an_unknown_key_are_refused(
        self, paillier_keys: PaillierKeys
    ) -> None:
        pk, sk = paillier_keys
        other_pk, _ = generate_paillier_keypair(512)
        sender = Serde(policy_ring())
        data = sender.dumps(pk.encrypt([1.0]))
        with pytest.raises(SerdeError, match="unknown key"):
            Serde(policy_ring()).loads(data)
        receiver = Serde(policy_ring())
        receiver.keyring.add(other_pk)
        with pytest.raises(SerdeError, match="unknown key"):
            receiver.loads(data)
        raw = sender.dumps(sk.decrypt_raw(pk.encrypt([1.0])))
        with pytest.raises(SerdeError, match="unknown key"):
            receiver.loads(raw)

    def test_key_must_come_before_its_ciphertexts(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        data = Serde(policy_ring()).dumps([pk.encrypt([1.0]), pk])
        with pytest.raises(SerdeError, match="unknown key"):
            Serde(policy_ring()).loads(data)

    def test_invalid_key_bodies_are_refused(self) -> None:
        def key_payload(scheme: bytes, body: bytes) -> bytes:
            return (
                MAGIC
                + struct.pack(">BB", 10, len(scheme))
                + scheme
                + struct.pack(">I", len(body))
                + body
            )

        serde = Serde(policy_ring())
        even = ((1 << 511) | 2).to_bytes(64, "big")
        with pytest.raises(SerdeError, match="invalid paillier public key"):
            serde.loads(key_payload(b"paillier", even))
        with pytest.raises(SerdeError, match="invalid paillier public key"):
            serde.loads(key_payload(b"paillier", b""))
        with pytest.raises(SerdeError, match="unknown key scheme"):
            serde.loads(key_payload(b"rsa", b"\x01" * 64))
        with pytest.raises(SerdeError):
            serde.loads(key_payload(b"plain", b""))  # a 0-bit stand-in is below any minimum

    def _vector_payload(
        self,
        pk: PaillierPublicKey,
        elements: list[int],
        *,
        tag: int = 11,
        frac_bits: int = 53,
        bound_bits: int = 120,
        width: int | None = None,
        count: int | None = None,
    ) -> bytes:
        width = pk.ciphertext_bytes if width is None else width
        count = len(elements) if count is None else count
        body = b"".join(e.to_bytes(width, "big") for e in elements)
        return (
            MAGIC
            + bytes([tag])
            + pk.fingerprint
            + struct.pack(">IIQI", frac_bits, bound_bits, count, width)
            + body
        )

    def test_forged_vectors_are_refused(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        serde = Serde(policy_ring())
        serde.keyring.add(pk)
        nsq, n = int(pk.nsquare), int(pk.n)
        assert isinstance(serde.loads(self._vector_payload(pk, [1, nsq - 1])), CipherVector)
        with pytest.raises(SerdeError, match="out of range"):
            serde.loads(self._vector_payload(pk, [1, nsq]))
        with pytest.raises(SerdeError, match="out of range"):
            serde.loads(self._vector_payload(pk, [n], tag=12, width=(pk.key_length + 7) // 8))
        with pytest.raises(SerdeError, match="width"):
            serde.loads(self._vector_payload(pk, [1], width=pk.ciphertext_bytes + 1))
        with pytest.raises(SerdeError, match="width"):
            serde.loads(self._vector_payload(pk, [1], tag=12))  # raw elements are n-sized
        with pytest.raises(SerdeError):
            serde.loads(self._vector_payload(pk, [1], count=2**64 - 1))
        with pytest.raises(SerdeError, match="ciphertext is 0"):
            serde.loads(self._vector_payload(pk, [1, 0]))
        with pytest.raises(SerdeError, match="bound_bits"):
            serde.loads(self._vector_payload(pk, [1], bound_bits=pk.key_length + 1))

    def test_the_magnitude_bound_travels_with_the_vector(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        serde = Serde(policy_ring())
        serde.keyring.add(pk)
        vector = pk.encrypt([1.0, -2.0]).mul(3.0)
        again = serde.loads(serde.dumps(vector))
        assert again.bound_bits == vector.bound_bits == 2 * (53 + 64)

    def test_absurd_frac_bits_are_refused(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        serde = Serde(policy_ring())
        serde.keyring.add(pk)
        ok = serde.loads(self._vector_payload(pk, [1], frac_bits=pk.key_length))
        assert ok.frac_bits == pk.key_length
        started = time.monotonic()
        with pytest.raises(SerdeError, match="frac_bits"):
            serde.loads(self._vector_payload(pk, [1], frac_bits=2**32 - 1))
        assert time.monotonic() - started < 1.0
