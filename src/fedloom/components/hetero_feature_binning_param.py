"""FATE 1.x's ``FeatureBinningParam`` (HeteroFeatureBinning), names and defaults as FATE's.

fedloom's key length default is 2048 bits (FATE's 1024 is refused by sites' key policy unless
lowered). Column parameters (``bin_indexes``, ``bin_names``, ``category_*``, ``split_points_*``,
``transform_*``) refer to the party's own columns: set them per role.
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from fedloom.components._glm_param import EncryptParam
from fedloom.components.base import FateParam, lower
from fedloom.ml.feature_binning import BinningConfig, EncryptConfig, OptimalConfig

Number = StrictInt | StrictFloat
Indexes = StrictInt | list[StrictInt] | None
Points = dict[StrictStr, list[Number]] | None


def _all_or_list(value: int | list[int] | None) -> int | list[int] | None:
    if isinstance(value, int) and value != -1:
        raise ValueError("use -1 (every column) or a list of column indexes")
    if isinstance(value, list) and any(v < 0 for v in value):
        raise ValueError("column indexes count from 0")
    return value


class BinningEncryptParam(EncryptParam):
    """FATE's ``encrypt_param`` of binning: the guest's key pair for the hosts' label sums."""

    @field_validator("method", mode="before")
    @classmethod
    def _needs_encryption(cls, value: object) -> object:
        if value is None:
            raise ValueError(
                "host columns' statistics need encrypted labels; method None (no encryption) "
                "is refused (use local_only or skip_static to bin without the labels crossing)"
            )
        return value


class TransformParam(FateParam):
    """FATE's ``transform_param``: which binned columns the output data replaces, and by what
    (``bin_num``: the bin index; ``woe``: the bin's WOE, guest columns only; None: nothing)."""

    transform_cols: Indexes = -1
    transform_names: list[StrictStr] | None = None
    transform_type: Literal["bin_num", "woe"] | None = "bin_num"

    _cols = field_validator("transform_cols")(_all_or_list)


class OptimalBinningParam(FateParam):
    """FATE's ``optimal_binning_param`` (see ``fedloom.ml.feature_binning.optimal``)."""

    metric_method: Literal["iv", "gini", "chi_square", "ks"] = "iv"
    min_bin_pct: Number = Field(default=0.05, ge=0, le=1)
    max_bin_pct: Number = Field(default=1.0, gt=0, le=1)
    init_bin_nums: StrictInt = Field(default=1000, ge=2)
    mixture: StrictBool = True
    init_bucket_method: Literal["quantile", "bucket"] = "quantile"

    _lower = field_validator("metric_method", "init_bucket_method", mode="before")(lower)

    def to_ml(self) -> OptimalConfig:
        """The algorithm's config."""
        return OptimalConfig(
            self.metric_method,
            float(self.min_bin_pct),
            float(self.max_bin_pct),
            self.init_bin_nums,
            self.mixture,
            self.init_bucket_method,
        )


class HeteroFeatureBinningParam(FateParam):
    """FATE's ``FeatureBinningParam`` / ``HeteroFeatureBinningParam``."""

    method: Literal["quantile", "bucket", "optimal"] = "quantile"
    compress_thres: StrictInt = Field(default=10000, ge=1)
    head_size: StrictInt = Field(default=10000, ge=1)
    error: Number = Field(default=0.001, gt=0, lt=1)
    bin_num: StrictInt = Field(default=10, ge=2)
    bin_indexes: Indexes = -1
    bin_names: list[StrictStr] | None = None
    adjustment_factor: Number = Field(default=0.5, gt=0)
    transform_param: TransformParam = TransformParam()
    local_only: StrictBool = False
    category_indexes: Indexes = None
    category_names: list[StrictStr] | None = None
    need_run: StrictBool = True
    skip_static: StrictBool = False
    optimal_binning_param: OptimalBinningParam = OptimalBinningParam()
    encrypt_param: BinningEncryptParam = BinningEncryptParam()
    split_points_by_index: Points = None
    split_points_by_col_name: Points = None

    _lower = field_validator("method", mode="before")(lower)
    _cols = field_validator("bin_indexes", "category_indexes")(_all_or_list)

    @field_validator("split_points_by_index")
    @classmethod
    def _index_keys(cls, value: dict[str, list[float]] | None) -> dict[str, list[float]] | None:
        for key in value or {}:
            if not key.isdigit():
                raise ValueError(f"keys are column indexes counting from 0, got {key!r}")
        return value

    @model_validator(mode="after")
    def _optimal_needs_labels(self) -> HeteroFeatureBinningParam:
        if self.method == "optimal" and self.skip_static:
            raise ValueError("optimal binning merges bins by their labels: not with skip_static")
        return self

    def to_ml(self) -> BinningConfig:
        """The algorithm's config (columns are resolved against the table by the runner)."""
        encrypt = self.encrypt_param
        return BinningConfig(
            method=self.method,
            bin_num=self.bin_num,
            error=float(self.error),
            compress_thres=self.compress_thres,
            head_size=self.head_size,
            adjustment_factor=float(self.adjustment_factor),
            local_only=self.local_only,
            skip_static=self.skip_static,
            optimal=self.optimal_binning_param.to_ml(),
            encrypt=EncryptConfig(
                "paillier" if encrypt.method == "Paillier" else "ou",
                encrypt.key_length,
                encrypt.backend,
            ),
        )
