"""Hetero (vertical) logistic regression with an arbiter, the classic masked protocol.

The protocol is the GLM core's (:mod:`fedloom.ml.glm`) with the logistic family.
"""

from fedloom.ml.glm import (
    EncryptParam,
    HeteroLRModel,
    HeteroLRParam,
    InitParam,
    KeyGen,
    Optimizer,
    announce_task,
    await_task,
    make_batches,
)
from fedloom.ml.hetero_lr.arbiter import HeteroLRArbiter
from fedloom.ml.hetero_lr.guest import HeteroLRGuest
from fedloom.ml.hetero_lr.host import HeteroLRHost

__all__ = [
    "EncryptParam",
    "HeteroLRArbiter",
    "HeteroLRGuest",
    "HeteroLRHost",
    "HeteroLRModel",
    "HeteroLRParam",
    "InitParam",
    "KeyGen",
    "Optimizer",
    "announce_task",
    "await_task",
    "make_batches",
]
