"""HeteroFeatureBinning: split points per party, WOE/IV of the guest's and hosts' columns.

One file per role (:mod:`.guest`, :mod:`.host`); :mod:`.quantile` is the error-bounded
quantile summary, :mod:`.splits` the split-point methods, :mod:`.optimal` the merging of
optimal binning, :mod:`.woe` the statistics.
"""

from fedloom.ml.feature_binning._common import ColumnBins, assign
from fedloom.ml.feature_binning.guest import BinningGuest, GuestBinning, HostColumn, label_classes
from fedloom.ml.feature_binning.host import BinningHost, HostBinning
from fedloom.ml.feature_binning.params import (
    BinningConfig,
    ColumnSpec,
    EncryptConfig,
    OptimalConfig,
)
from fedloom.ml.feature_binning.quantile import QuantileSummary
from fedloom.ml.feature_binning.woe import woe_iv

__all__ = [
    "BinningConfig",
    "BinningGuest",
    "BinningHost",
    "ColumnBins",
    "ColumnSpec",
    "EncryptConfig",
    "GuestBinning",
    "HostBinning",
    "HostColumn",
    "OptimalConfig",
    "QuantileSummary",
    "assign",
    "label_classes",
    "woe_iv",
]
