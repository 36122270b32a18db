"""HeteroPoisson at the arbiter: the GLM arbiter (:mod:`fedloom.ml.glm.arbiter`)."""

from __future__ import annotations

from fedloom.ml.glm.arbiter import GlmArbiter
from fedloom.ml.glm.family import POISSON


class HeteroPoissonArbiter(GlmArbiter):
    """The arbiter's side of HeteroPoisson: key pair, masked decryptions, convergence."""

    family = POISSON
