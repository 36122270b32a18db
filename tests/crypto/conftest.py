"""Key fixtures of the crypto tests (small keys are generated once per session)."""

from __future__ import annotations

import pytest
from paillier_support import Keys, PaillierKeys

from fedloom.crypto import generate_paillier_keypair, generate_plain_keypair


@pytest.fixture(scope="session")
def paillier_keys() -> PaillierKeys:
    return generate_paillier_keypair(512)


@pytest.fixture(scope="session")
def other_paillier_keys() -> PaillierKeys:
    return generate_paillier_keypair(512)


@pytest.fixture(scope="session")
def keys_2048() -> PaillierKeys:
    return generate_paillier_keypair(2048)


@pytest.fixture(scope="session", params=["paillier", "plain"])
def keys(request: pytest.FixtureRequest, paillier_keys: PaillierKeys) -> Keys:
    if request.param == "paillier":
        return paillier_keys
    return generate_plain_keypair(512)
