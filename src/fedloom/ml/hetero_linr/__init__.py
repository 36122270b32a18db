"""Hetero (vertical) least-squares linear regression with an arbiter.

The protocol is the GLM core's (:mod:`fedloom.ml.glm`) with the linear family.
"""

from fedloom.ml.hetero_linr.arbiter import HeteroLinRArbiter
from fedloom.ml.hetero_linr.guest import HeteroLinRGuest
from fedloom.ml.hetero_linr.host import HeteroLinRHost

__all__ = ["HeteroLinRArbiter", "HeteroLinRGuest", "HeteroLinRHost"]
