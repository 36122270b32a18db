"""HeteroPoisson at the host: the GLM host (:mod:`fedloom.ml.glm.host`) with the Poisson family."""

from __future__ import annotations

from fedloom.ml.glm.family import POISSON
from fedloom.ml.glm.host import GlmHost


class HeteroPoissonHost(GlmHost):
    """A host's side of HeteroPoisson: sends ``[[exp(X_h·w_h)]]`` (and ``[[X_h·w_h]]`` for
    the loss)."""

    family = POISSON
