"""HeteroPearson: Pearson correlation of one party's columns with another's, under Paillier.

See :mod:`.guest` and :mod:`.host` for the protocol and what each side learns.
"""

from fedloom.ml.pearson.common import PearsonError, PearsonResult, standardize, vif
from fedloom.ml.pearson.guest import HeteroPearsonGuest
from fedloom.ml.pearson.host import HeteroPearsonHost

__all__ = [
    "HeteroPearsonGuest",
    "HeteroPearsonHost",
    "PearsonError",
    "PearsonResult",
    "standardize",
    "vif",
]
