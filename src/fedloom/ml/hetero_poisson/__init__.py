"""Hetero (vertical) Poisson regression (log link, exposure offset) with an arbiter.

The protocol is the GLM core's (:mod:`fedloom.ml.glm`) with the Poisson family.
"""

from fedloom.ml.hetero_poisson.arbiter import HeteroPoissonArbiter
from fedloom.ml.hetero_poisson.guest import HeteroPoissonGuest
from fedloom.ml.hetero_poisson.host import HeteroPoissonHost

__all__ = ["HeteroPoissonArbiter", "HeteroPoissonGuest", "HeteroPoissonHost"]
