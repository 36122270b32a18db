"""Every scheme and backend encrypts the same values to new ciphertexts, every time."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest
from paillier_support import Keys

from fedloom.crypto import generate_ou_keypair, generate_paillier_keypair
from fedloom.crypto.keys import generate_keypair

pytestmark = pytest.mark.unit

SCHEMES: dict[str, Callable[[], Keys]] = {
    "paillier": cache(lambda: generate_paillier_keypair(512)),
    "paillier-phe": cache(lambda: generate_keypair("paillier", 512, "phe")),
    "ou": cache(lambda: generate_ou_keypair(1024)),
}


@pytest.fixture(params=sorted(SCHEMES))
def scheme_keys(request: pytest.FixtureRequest) -> Keys:
    return SCHEMES[request.param]()


def test_encryption_is_never_deterministic(scheme_keys: Keys) -> None:
    pk, sk = scheme_keys
    values = [1.0, 1.0, 0.0, 0.0, -3.5]
    first, second = pk.encrypt(values), pk.encrypt(values)
    everything = [int(c) for c in first.ciphertexts + second.ciphertexts]
    assert len(set(everything)) == len(everything)
    assert sk.decrypt(first).tolist() == sk.decrypt(second).tolist() == values


def test_rerandomize_changes_every_ciphertext(scheme_keys: Keys) -> None:
    pk, sk = scheme_keys
    ca = pk.encrypt([0.0, 1.0, 1.0, -2.0])
    fresh = ca.rerandomize()
    again = fresh.rerandomize()
    for old, new, newer in zip(ca.ciphertexts, fresh.ciphertexts, again.ciphertexts, strict=True):
        assert len({int(old), int(new), int(newer)}) == 3
    assert fresh.bound_bits == ca.bound_bits
    assert sk.decrypt(again).tolist() == [0.0, 1.0, 1.0, -2.0]
