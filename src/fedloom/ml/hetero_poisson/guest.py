"""HeteroPoisson at the guest: the GLM guest (:mod:`fedloom.ml.glm.guest`), Poisson family."""

from __future__ import annotations

from fedloom.ml.glm.family import POISSON
from fedloom.ml.glm.guest import GlmGuest


class HeteroPoissonGuest(GlmGuest):
    """The guest's side of HeteroPoisson: holds the counts and the exposure ``e``, forms
    ``exp(z_g + log e)·[[exp(z_h)]] − y``."""

    family = POISSON
