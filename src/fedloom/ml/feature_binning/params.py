"""The typed configuration of feature binning (filled by the component's parameter model).

It checks types only; FATE names, defaults, ranges and cross-field rules are validated once by
``fedloom.components.hetero_feature_binning_param``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from fedloom.crypto import DEFAULT_KEY_LENGTH

Method = Literal["quantile", "bucket", "optimal"]
Metric = Literal["iv", "gini", "chi_square", "ks"]


@dataclass(frozen=True)
class OptimalConfig:
    """FATE's ``optimal_binning_param``: start from ``init_bin_nums`` buckets made by
    ``init_bucket_method``, then merge neighbours (first to meet ``min_bin_pct`` /
    ``max_bin_pct`` when ``mixture``) until ``bin_num`` remain, by ``metric_method``."""

    metric_method: Metric = "iv"
    min_bin_pct: float = 0.05
    max_bin_pct: float = 1.0
    init_bin_nums: int = 1000
    mixture: bool = True
    init_bucket_method: Literal["quantile", "bucket"] = "quantile"


@dataclass(frozen=True)
class EncryptConfig:
    """The guest's key pair for the hosts' label sums: scheme, key length, local backend."""

    method: Literal["paillier", "ou"] = "paillier"
    key_length: int = DEFAULT_KEY_LENGTH
    backend: Literal["fedloom", "phe"] = "fedloom"


@dataclass(frozen=True)
class ColumnSpec:
    """One column to bin: its position in this party's table, its name, and how.

    ``kind`` is ``numeric`` (``method``), ``category`` (a bin per value) or ``given``
    (``points``, from ``split_points_by_index`` / ``split_points_by_col_name``).
    """

    index: int
    name: str
    kind: Literal["numeric", "category", "given"] = "numeric"
    points: tuple[float, ...] = ()


@dataclass(frozen=True)
class BinningConfig:
    """One party's binning task."""

    method: Method = "quantile"
    bin_num: int = 10
    error: float = 0.001
    compress_thres: int = 10000
    head_size: int = 10000
    adjustment_factor: float = 0.5
    local_only: bool = False
    skip_static: bool = False
    optimal: OptimalConfig = field(default_factory=OptimalConfig)
    encrypt: EncryptConfig = field(default_factory=EncryptConfig)
