"""HeteroLR at the arbiter: the GLM arbiter (:mod:`fedloom.ml.glm.arbiter`)."""

from __future__ import annotations

from fedloom.crypto.keys import Method, generate_keypair
from fedloom.crypto.phe_backend import Backend
from fedloom.ml.glm.arbiter import GlmArbiter, KeyGen, KeyPair
from fedloom.ml.glm.family import LOGISTIC

__all__ = ["HeteroLRArbiter", "KeyGen"]


class HeteroLRArbiter(GlmArbiter):
    """The arbiter's side of HeteroLR: key pair, masked decryptions, convergence."""

    family = LOGISTIC

    def generate(self, method: Method, key_length: int, backend: Backend) -> KeyPair:
        """A fresh key pair, looked up in this module (tests record the calls)."""
        return generate_keypair(method, key_length, backend)
