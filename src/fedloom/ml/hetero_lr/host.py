"""HeteroLR at a host: the GLM host (:mod:`fedloom.ml.glm.host`) with the logistic family."""

from __future__ import annotations

from fedloom.ml.glm.family import LOGISTIC
from fedloom.ml.glm.host import GlmHost


class HeteroLRHost(GlmHost):
    """A host's side of HeteroLR: sends ``[[X_h·w_h]]`` (and its square for the loss)."""

    family = LOGISTIC
