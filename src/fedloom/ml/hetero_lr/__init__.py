"""Hetero (vertical) logistic regression with an arbiter, the classic masked protocol."""

from fedloom.ml.hetero_lr._common import HeteroLRModel, announce_task, await_task
from fedloom.ml.hetero_lr.arbiter import HeteroLRArbiter, KeyGen
from fedloom.ml.hetero_lr.batches import make_batches
from fedloom.ml.hetero_lr.guest import HeteroLRGuest
from fedloom.ml.hetero_lr.host import HeteroLRHost
from fedloom.ml.hetero_lr.optimizer import Optimizer
from fedloom.ml.hetero_lr.params import EncryptParam, HeteroLRParam, InitParam

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
