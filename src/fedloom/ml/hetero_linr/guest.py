"""HeteroLinR at the guest: the GLM guest (:mod:`fedloom.ml.glm.guest`) with the linear family."""

from __future__ import annotations

from fedloom.ml.glm.family import LINEAR
from fedloom.ml.glm.guest import GlmGuest


class HeteroLinRGuest(GlmGuest):
    """The guest's side of HeteroLinR: holds the targets, forms the residual ``z − y``."""

    family = LINEAR
