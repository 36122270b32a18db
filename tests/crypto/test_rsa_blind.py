"""Tests for fedloom.crypto.rsa_blind: blind signatures, full-domain hash, wire helpers."""

from __future__ import annotations

import hashlib

import gmpy2
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fedloom.crypto import rsa_blind
from fedloom.crypto.rsa_blind import (
    DEFAULT_RSA_KEY_LENGTH,
    PUBLIC_EXPONENT,
    RSABlindPrivateKey,
    RSABlindPublicKey,
    array_to_ints,
    blind,
    generate_rsa_keypair,
    hash_signatures,
    hash_to_zn,
    ints_to_array,
    openssl_available,
    unblind,
    verify,
)

pytestmark = pytest.mark.unit

IDS = [f"user-{i}".encode() for i in range(40)] + ["用户-é".encode(), b""]


@pytest.fixture(scope="module")
def numbers() -> rsa.RSAPrivateNumbers:
    return rsa.generate_private_key(PUBLIC_EXPONENT, 1024).private_numbers()


@pytest.fixture(scope="module")
def key(numbers: rsa.RSAPrivateNumbers) -> RSABlindPrivateKey:
    return RSABlindPrivateKey(numbers.p, numbers.q)


def test_crt_signature_equals_textbook_rsa(
    key: RSABlindPrivateKey, numbers: rsa.RSAPrivateNumbers
) -> None:
    n = numbers.public_numbers.n
    values = hash_to_zn(key.public_key, IDS)
    assert [int(s) for s in key.sign(values)] == [pow(int(v), numbers.d, n) for v in values]
    assert key.public_key.n == n and key.public_key.e == PUBLIC_EXPONENT


def test_blind_sign_unblind_equals_direct_signature(key: RSABlindPrivateKey) -> None:
    pub = key.public_key
    hashed = hash_to_zn(pub, IDS)
    blinded, unblinders = blind(pub, hashed)
    recovered = unblind(pub, key.sign(blinded), unblinders)
    assert recovered == key.sign(hashed)
    assert verify(pub, recovered, hashed)
    assert (
        hash_signatures(pub, recovered).tobytes()
        == hash_signatures(pub, key.sign(hashed)).tobytes()
    )


def test_blinding_is_fresh_and_hides_the_hash(key: RSABlindPrivateKey) -> None:
    pub = key.public_key
    hashed = hash_to_zn(pub, IDS)
    first, inv1 = blind(pub, hashed)
    second, inv2 = blind(pub, hashed)
    assert all(a != b for a, b in zip(first, second, strict=True))
    assert not set(first) & set(hashed) and not set(second) & set(hashed)
    assert all(0 < b < pub.n for b in first)
    for blinded, inverses in ((first, inv1), (second, inv2)):
        # blinded · (r^-1)^e = H(x): the unblinders invert exactly the factor r^e.
        restored = [
            b * gmpy2.powmod(u, pub.e, pub.n) % pub.n
            for b, u in zip(blinded, inverses, strict=True)
        ]
        assert restored == hashed


def test_full_domain_hash_is_deterministic_full_width_and_separated(
    key: RSABlindPrivateKey,
) -> None:
    pub = key.public_key
    hashed = hash_to_zn(pub, IDS)
    assert hash_to_zn(pub, IDS) == hashed
    assert len(set(hashed)) == len(IDS)
    assert all(0 <= h < pub.n for h in hashed)
    assert max(int(h).bit_length() for h in hashed) >= pub.key_length - 8
    plain = {int.from_bytes(hashlib.sha256(x).digest(), "big") % int(pub.n) for x in IDS}
    assert not plain & {int(h) for h in hashed}
    # Length-prefixed input: ids that are prefixes of each other hash unrelatedly.
    assert hash_to_zn(pub, [b"ab"]) != hash_to_zn(pub, [b"a"])


def test_full_domain_hash_is_bound_to_the_key(key: RSABlindPrivateKey) -> None:
    other = generate_rsa_keypair(1024).public_key
    same_n = RSABlindPublicKey(int(key.public_key.n), 3)
    mine = hash_to_zn(key.public_key, IDS[:5])
    assert not set(mine) & set(hash_to_zn(other, IDS[:5]))
    assert not set(mine) & set(hash_to_zn(same_n, IDS[:5]))


def test_signature_hash_is_domain_separated_32_bytes(key: RSABlindPrivateKey) -> None:
    pub = key.public_key
    sigs = key.sign(hash_to_zn(pub, IDS))
    digests = hash_signatures(pub, sigs)
    assert digests.shape == (len(IDS), 32) and digests.dtype == np.uint8
    assert np.array_equal(digests, hash_signatures(pub, sigs))
    naive = hashlib.sha256(int(sigs[0]).to_bytes(pub.byte_length, "big")).digest()
    assert digests[0].tobytes() != naive
    assert hash_signatures(pub, []).shape == (0, 32)


def test_fixed_width_round_trip(key: RSABlindPrivateKey) -> None:
    values = [*hash_to_zn(key.public_key, IDS), gmpy2.mpz(0), key.public_key.n - 1]
    arr = ints_to_array(values, key.public_key.byte_length)
    assert arr.shape == (len(values), 128) and arr.dtype == np.uint8
    assert array_to_ints(arr) == values
    assert array_to_ints(ints_to_array([], 128)) == []
    with pytest.raises(ValueError, match="2-D uint8"):
        array_to_ints(arr.astype(np.int64))


def test_sign_refuses_values_outside_zn(key: RSABlindPrivateKey) -> None:
    with pytest.raises(ValueError, match="outside"):
        key.sign([key.public_key.n])
    with pytest.raises(ValueError, match="outside"):
        key.sign([gmpy2.mpz(-1)])
    assert key.sign([]) == []


def test_verify_rejects_wrong_signatures(key: RSABlindPrivateKey) -> None:
    pub = key.public_key
    hashed = hash_to_zn(pub, IDS[:3])
    sigs = key.sign(hashed)
    assert verify(pub, sigs, hashed)
    assert not verify(pub, [sigs[0] + 1, *sigs[1:]], hashed)
    assert not verify(pub, sigs[:2], hashed)


def test_key_validation(numbers: rsa.RSAPrivateNumbers) -> None:
    n = numbers.public_numbers.n
    with pytest.raises(ValueError, match="modulus"):
        RSABlindPublicKey(n + 1)
    with pytest.raises(ValueError, match="modulus"):
        RSABlindPublicKey(2**511 + 1)
    with pytest.raises(ValueError, match="exponent"):
        RSABlindPublicKey(n, 4)
    with pytest.raises(ValueError, match="primes"):
        RSABlindPrivateKey(numbers.p, numbers.p)
    with pytest.raises(ValueError, match="primes"):
        RSABlindPrivateKey(numbers.p, numbers.q + 2)
    with pytest.raises(ValueError, match=">= 1024"):
        generate_rsa_keypair(512)


def test_default_key_is_2048_bits_with_e_65537() -> None:
    assert DEFAULT_RSA_KEY_LENGTH == 2048
    pub = generate_rsa_keypair().public_key
    assert pub.key_length == 2048 and pub.e == 65537 and pub.byte_length == 256
    assert RSABlindPublicKey(int(pub.n)) == pub and len({pub, RSABlindPublicKey(int(pub.n))}) == 1


# Signing backends ----------------------------------------------------------------------------

needs_openssl = pytest.mark.skipif(
    not openssl_available(), reason="OpenSSL 3 libcrypto not available (Linux only)"
)


@needs_openssl
def test_openssl_and_gmpy2_backends_sign_identically(numbers: rsa.RSAPrivateNumbers) -> None:
    fast = RSABlindPrivateKey(numbers.p, numbers.q, backend="openssl")
    slow = RSABlindPrivateKey(numbers.p, numbers.q, backend="gmpy2")
    assert (fast.backend, slow.backend) == ("openssl", "gmpy2")
    values = [*hash_to_zn(fast.public_key, IDS), gmpy2.mpz(0), gmpy2.mpz(1), fast.public_key.n - 1]
    assert fast.sign(values) == slow.sign(values)
    rows = ints_to_array(values, fast.public_key.byte_length)
    assert np.array_equal(fast.sign_array(rows), slow.sign_array(rows))
    assert fast.sign_array(rows[:0]).shape == (0, 128)


@needs_openssl
def test_openssl_refuses_values_outside_zn(numbers: rsa.RSAPrivateNumbers) -> None:
    key = RSABlindPrivateKey(numbers.p, numbers.q, backend="openssl")
    n = int(key.public_key.n)
    with pytest.raises(ValueError, match="outside"):
        key.sign_array(ints_to_array([n], 128))
    # libcrypto's own range check, below ours:
    assert key._openssl is not None
    with pytest.raises(ValueError, match="outside"):
        key._openssl.power(n.to_bytes(128, "big"))
    assert key.sign([gmpy2.mpz(4)]) == [gmpy2.powmod(4, numbers.d, n)]


def test_backend_choice(numbers: rsa.RSAPrivateNumbers, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown RSA backend"):
        RSABlindPrivateKey(numbers.p, numbers.q, backend="fast")  # type: ignore[arg-type]
    monkeypatch.setenv("FEDLOOM_RSA_BACKEND", "gmpy2")
    assert RSABlindPrivateKey(numbers.p, numbers.q).backend == "gmpy2"
    monkeypatch.setenv("FEDLOOM_RSA_BACKEND", "auto")
    expected = "openssl" if openssl_available() else "gmpy2"
    assert RSABlindPrivateKey(numbers.p, numbers.q).backend == expected
    monkeypatch.setattr(rsa_blind, "_libcrypto", lambda: None)
    assert RSABlindPrivateKey(numbers.p, numbers.q).backend == "gmpy2"
    with pytest.raises(OSError, match="OpenSSL 3"):
        RSABlindPrivateKey(numbers.p, numbers.q, backend="openssl")


def test_sign_array_checks_the_shape(key: RSABlindPrivateKey) -> None:
    with pytest.raises(ValueError, match=r"\(N, 128\) uint8"):
        key.sign_array(np.zeros((2, 64), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"\(N, 128\) uint8"):
        key.sign_array(np.zeros((2, 128), dtype=np.int16))


def test_private_numbers_rebuild_the_same_key(key: RSABlindPrivateKey) -> None:
    p, q, e = key.private_numbers()
    again = RSABlindPrivateKey(p, q, e)
    assert again.public_key == key.public_key
    hashed = hash_to_zn(key.public_key, IDS[:3])
    assert again.sign(hashed) == key.sign(hashed)
    assert "RSABlindPrivateKey(1024 bits" in repr(key) and str(p) not in repr(key)
