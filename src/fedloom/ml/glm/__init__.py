"""The vertical generalized linear models' shared protocol (the classic arbiter design).

Guest, hosts and arbiter run one protocol (:mod:`.guest`, :mod:`.host`, :mod:`.arbiter`);
a :class:`~.family.Family` supplies what differs between logistic (HeteroLR), linear
(HeteroLinR) and Poisson (HeteroPoisson) regression. Each algorithm's package is a thin
subclass per role.
"""

from fedloom.ml.glm._common import HeteroLRModel, announce_task, await_task
from fedloom.ml.glm.arbiter import GlmArbiter, KeyGen
from fedloom.ml.glm.batches import make_batches
from fedloom.ml.glm.family import LINEAR, LOGISTIC, POISSON, Family
from fedloom.ml.glm.guest import GlmGuest
from fedloom.ml.glm.host import GlmHost
from fedloom.ml.glm.optimizer import Optimizer
from fedloom.ml.glm.params import EncryptParam, HeteroLRParam, InitParam

GlmModel = HeteroLRModel
"""One party's share of a trained GLM (the same class as ``HeteroLRModel``)."""
GlmParam = HeteroLRParam
"""The algorithm parameters of every GLM (the same class as ``HeteroLRParam``)."""

__all__ = [
    "LINEAR",
    "LOGISTIC",
    "POISSON",
    "EncryptParam",
    "Family",
    "GlmArbiter",
    "GlmGuest",
    "GlmHost",
    "GlmModel",
    "GlmParam",
    "HeteroLRModel",
    "HeteroLRParam",
    "InitParam",
    "KeyGen",
    "Optimizer",
    "announce_task",
    "await_task",
    "make_batches",
]
