"""HeteroLinR at the arbiter: the GLM arbiter (:mod:`fedloom.ml.glm.arbiter`)."""

from __future__ import annotations

from fedloom.ml.glm.arbiter import GlmArbiter
from fedloom.ml.glm.family import LINEAR


class HeteroLinRArbiter(GlmArbiter):
    """The arbiter's side of HeteroLinR: key pair, masked decryptions, convergence."""

    family = LINEAR
