"""Tests for fedloom.crypto.x25519: hashing ids to points, masking, commutativity."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from fedloom.crypto.x25519 import (
    LowOrderPointError,
    generate_secret,
    hash_to_points,
    mask,
)

pytestmark = pytest.mark.unit

IDS = [f"user-{i}".encode() for i in range(50)] + ["用户-é".encode(), b""]


def test_rfc7748_known_answer() -> None:
    # RFC 7748, section 5.2, first test vector.
    scalar = bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
    u = bytes.fromhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
    expected = "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
    point = np.frombuffer(u, dtype=np.uint8).reshape(1, 32)
    assert mask(scalar, point)[0].tobytes().hex() == expected


def test_masking_commutes() -> None:
    points = hash_to_points(IDS)
    a, b = generate_secret(), generate_secret()
    ab = mask(a, mask(b, points))
    assert np.array_equal(ab, mask(b, mask(a, points)))
    assert ab.shape == (len(IDS), 32) and ab.dtype == np.uint8
    assert len({row.tobytes() for row in ab}) == len(IDS)


def test_masks_depend_on_the_secret_and_hide_the_point() -> None:
    points = hash_to_points(IDS)
    a, b = generate_secret(), generate_secret()
    assert np.array_equal(mask(a, points), mask(a, points))
    masked_a = {row.tobytes() for row in mask(a, points)}
    assert not masked_a & {row.tobytes() for row in mask(b, points)}
    assert not masked_a & {row.tobytes() for row in points}


def test_hash_to_points_is_deterministic_and_domain_separated() -> None:
    points = hash_to_points(IDS)
    assert points.shape == (len(IDS), 32) and points.dtype == np.uint8
    assert np.array_equal(points, hash_to_points(IDS))
    assert len({row.tobytes() for row in points}) == len(IDS)
    plain = {hashlib.sha256(x).digest() for x in IDS}
    assert not plain & {row.tobytes() for row in points}
    assert hash_to_points([]).shape == (0, 32)


def test_secrets_are_fresh_32_bytes() -> None:
    secrets = {generate_secret() for _ in range(20)}
    assert len(secrets) == 20 and all(len(s) == 32 for s in secrets)


def test_low_order_point_raises_naming_the_row() -> None:
    points = hash_to_points(IDS[:4]).copy()
    points[2] = 0
    with pytest.raises(LowOrderPointError, match="row 2") as info:
        mask(generate_secret(), points)
    assert info.value.row == 2
    one = np.zeros((1, 32), dtype=np.uint8)
    one[0, 0] = 1
    with pytest.raises(LowOrderPointError):
        mask(generate_secret(), one)


def test_input_validation() -> None:
    points = hash_to_points(IDS[:2])
    with pytest.raises(ValueError, match="32 bytes"):
        mask(b"short", points)
    with pytest.raises(ValueError, match=r"\(N, 32\) uint8"):
        mask(generate_secret(), points.astype(np.int16))
    with pytest.raises(ValueError, match=r"\(N, 32\) uint8"):
        mask(generate_secret(), points[:, :16])
    assert mask(generate_secret(), np.zeros((0, 32), dtype=np.uint8)).shape == (0, 32)


def test_fast_public_key_loader_matches_the_public_api() -> None:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

    from fedloom.crypto.x25519 import _load_public_key

    for point in hash_to_points(IDS[:5]):
        raw = point.tobytes()
        loaded = _load_public_key(raw)
        assert isinstance(loaded, X25519PublicKey)
        assert (
            loaded.public_bytes_raw() == X25519PublicKey.from_public_bytes(raw).public_bytes_raw()
        )
