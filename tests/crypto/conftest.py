"""Key fixtures of the crypto tests (small keys are generated once per session)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest
from paillier_support import Keys, PaillierKeys

from fedloom.crypto import generate_paillier_keypair, generate_plain_keypair, native


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


def _load_ifma() -> ModuleType | None:
    try:
        return importlib.import_module("fedloom.crypto._ifma")
    except ImportError:
        return None


_IFMA = _load_ifma()


@pytest.fixture
def ifma(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The native extension module, switched on; skips when it is not built or the CPU lacks
    AVX-512 IFMA (the reason says which)."""
    if _IFMA is None:
        pytest.skip("fedloom.crypto._ifma is not built (no C compiler at install time)")
    if not _IFMA.supported():
        pytest.skip("this CPU lacks AVX-512F/AVX-512 IFMA (_ifma.supported() is False)")
    monkeypatch.delenv(native.ENV_SWITCH, raising=False)
    return _IFMA
