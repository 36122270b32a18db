"""HeteroLinR at the host: the GLM host (:mod:`fedloom.ml.glm.host`) with the linear family."""

from __future__ import annotations

from fedloom.ml.glm.family import LINEAR
from fedloom.ml.glm.host import GlmHost


class HeteroLinRHost(GlmHost):
    """A host's side of HeteroLinR: sends ``[[X_h·w_h]]`` (and its square for the loss)."""

    family = LINEAR
