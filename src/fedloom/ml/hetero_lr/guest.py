"""HeteroLR at the guest: the GLM guest (:mod:`fedloom.ml.glm.guest`) with the logistic family."""

from __future__ import annotations

from fedloom.ml.glm.family import LOGISTIC
from fedloom.ml.glm.guest import GlmGuest


class HeteroLRGuest(GlmGuest):
    """The guest's side of HeteroLR: holds the labels, forms the residual ``¼·z + ½ − y``."""

    family = LOGISTIC
