"""Fixtures of the federation tests."""

from __future__ import annotations

import pytest
from serde_support import PaillierKeys

from fedloom.crypto import generate_paillier_keypair


@pytest.fixture(scope="session")
def paillier_keys() -> PaillierKeys:
    return generate_paillier_keypair(512)
