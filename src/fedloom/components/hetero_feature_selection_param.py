"""FATE's FeatureSelectionParam and its sub-parameters (FATE 1.x names, old filter names too).

Each ``CommonFilterParam``-style block (``iv_param``, ``statistic_param``, ``vif_param``)
takes ``metrics`` and per-metric ``filter_type`` / ``threshold`` / ``take_high`` (a single
value applies to every metric); :meth:`CommonFilterParam.rules` spells them out, one
:class:`Rule` per metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from fedloom.components.base import FateParam, lower

Number = StrictInt | StrictFloat

FILTERS: tuple[str, ...] = (
    "unique_value",
    "iv_filter",
    "iv_value_thres",
    "iv_percentile",
    "iv_top_k",
    "statistic_filter",
    "manually",
    "percentage_value",
    "correlation_filter",
    "vif_filter",
    "coefficient_of_variation_value_thres",
    "outlier_cols",
    "psi_filter",
)
"""Filter names fedloom runs (FATE's, including the names before FATE 1.5)."""
REFUSED_FILTERS: Mapping[str, str] = {
    "hetero_sbt_filter": "it ranks by a HeteroSecureBoost model's feature importance and "
    "fedloom has no HeteroSecureBoost module yet",
    "hetero_fast_sbt_filter": "it needs a HeteroFastSecureBoost model, which fedloom lacks",
    "homo_sbt_filter": "fedloom runs no homogeneous (horizontal) SecureBoost",
}
FILTER_TYPES = ("threshold", "top_k", "top_percentile")


@dataclass(frozen=True)
class Rule:
    """One metric's filter: keep by ``threshold`` / ``top_k`` / ``top_percentile``."""

    metric: str
    filter_type: str
    threshold: float
    take_high: bool
    host_thresholds: tuple[float | None, ...] = ()
    """Per host (job order): the threshold of that host's features (None: ``threshold``)."""


def _as_list(value: object, size: int, name: str) -> list[object]:
    items = value if isinstance(value, list) else [value]
    if len(items) == 1:
        return items * size
    if len(items) != size:
        raise ValueError(f"{name} has {len(items)} values for {size} metrics")
    return items


class CommonFilterParam(FateParam):
    """FATE's CommonFilterParam (``statistic_param``; base of ``iv_param`` / ``vif_param``)."""

    metrics: StrictStr | list[StrictStr] = "mean"
    filter_type: StrictStr | list[StrictStr] = "threshold"
    take_high: StrictBool | list[StrictBool] = True
    threshold: Number | list[Number] = 1
    host_thresholds: list[Number | list[Number] | None] | None = None
    select_federated: StrictBool = True

    @field_validator("metrics", "filter_type", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return [lower(v) for v in value] if isinstance(value, list) else lower(value)

    @field_validator("filter_type")
    @classmethod
    def _types(cls, value: str | list[str]) -> str | list[str]:
        for item in [value] if isinstance(value, str) else value:
            if item not in FILTER_TYPES:
                raise ValueError(f"filter_type {item!r}: use one of {', '.join(FILTER_TYPES)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CommonFilterParam:
        self.rules()  # per-metric lists of the right lengths, thresholds fit their types
        return self

    def metric_names(self) -> list[str]:
        """The metrics, as a list."""
        return [self.metrics] if isinstance(self.metrics, str) else list(self.metrics)

    def rules(self) -> list[Rule]:
        """One rule per metric, with per-metric values spelled out (and checked)."""
        metrics = self.metric_names()
        if not metrics:
            raise ValueError("metrics lists no metric")
        size = len(metrics)
        types = _as_list(self.filter_type, size, "filter_type")
        thresholds = _as_list(self.threshold, size, "threshold")
        highs = _as_list(self.take_high, size, "take_high")
        per_host = [
            _as_list(h, size, "host_thresholds") if h is not None else [None] * size
            for h in self.host_thresholds or []
        ]
        rules = []
        for k, metric in enumerate(metrics):
            kind, limit = str(types[k]), float(thresholds[k])  # type: ignore[arg-type]
            _check_limit(kind, limit)
            hosts = tuple(None if h[k] is None else float(h[k]) for h in per_host)  # type: ignore[arg-type]
            for value in hosts:
                if value is not None:
                    _check_limit(kind, value)
            rules.append(Rule(metric, kind, limit, bool(highs[k]), hosts))
        return rules


def _check_limit(kind: str, limit: float) -> None:
    if kind == "top_k" and (limit < 0 or not float(limit).is_integer()):
        raise ValueError(f"a top_k threshold is a number of features, got {limit}")
    if kind == "top_percentile" and not 0 <= limit <= 1:
        raise ValueError(f"a top_percentile threshold is a fraction in [0, 1], got {limit}")


class IVFilterParam(CommonFilterParam):
    """FATE's IVFilterParam: ``metrics`` is ``"iv"``; ``mul_class_merge_type`` merges the IVs
    of a multi-class binning (``average`` / ``min`` / ``max``)."""

    metrics: StrictStr | list[StrictStr] = "iv"
    mul_class_merge_type: StrictStr | list[StrictStr] = "average"

    @field_validator("metrics")
    @classmethod
    def _iv(cls, value: str | list[str]) -> str | list[str]:
        if any(m != "iv" for m in ([value] if isinstance(value, str) else value)):
            raise ValueError("iv_param ranks by 'iv' only")
        return value

    @field_validator("mul_class_merge_type", mode="before")
    @classmethod
    def _merge(cls, value: object) -> object:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if lower(item) not in ("average", "min", "max"):
                raise ValueError("mul_class_merge_type is 'average', 'min' or 'max'")
        return [lower(v) for v in value] if isinstance(value, list) else lower(value)


class VifParam(CommonFilterParam):
    """``vif_param``: variance inflation factors of a HeteroPearson model (keep low VIF)."""

    metrics: StrictStr | list[StrictStr] = "vif"
    threshold: Number | list[Number] = 10.0
    take_high: StrictBool | list[StrictBool] = False

    @field_validator("metrics")
    @classmethod
    def _vif(cls, value: str | list[str]) -> str | list[str]:
        if any(m != "vif" for m in ([value] if isinstance(value, str) else value)):
            raise ValueError("vif_param filters by 'vif' only")
        return value


class PsiFilterParam(CommonFilterParam):
    """``psi_param``: population stability of a PSI model's ``total_score`` (keep stable,
    i.e. low-PSI, columns by default)."""

    metrics: StrictStr | list[StrictStr] = "psi"
    take_high: StrictBool | list[StrictBool] = False

    @field_validator("metrics")
    @classmethod
    def _psi(cls, value: str | list[str]) -> str | list[str]:
        if any(m != "psi" for m in ([value] if isinstance(value, str) else value)):
            raise ValueError("psi_param filters by 'psi' only")
        return value


class UniqueValueParam(FateParam):
    """FATE's UniqueValueParam: drop a column whose max − min is below ``eps``."""

    eps: Number = Field(default=1e-5, ge=0)


class IVValueSelectionParam(FateParam):
    """FATE's ``iv_value_param`` (filter ``iv_value_thres``)."""

    value_threshold: Number = 0.0
    host_thresholds: list[Number | None] | None = None
    local_only: StrictBool = False


class IVPercentileSelectionParam(FateParam):
    """FATE's ``iv_percentile_param`` (filter ``iv_percentile``)."""

    percentile_threshold: Number = Field(default=1.0, ge=0, le=1)
    local_only: StrictBool = False


class IVTopKParam(FateParam):
    """FATE's ``iv_top_k_param`` (filter ``iv_top_k``)."""

    k: StrictInt = Field(default=10, ge=0)
    local_only: StrictBool = False


class VarianceOfCoeSelectionParam(FateParam):
    """FATE's ``variance_coe_param``: keep columns whose coefficient of variation is at least
    ``value_threshold``."""

    value_threshold: Number = 1.0


class OutlierColsSelectionParam(FateParam):
    """FATE's ``outlier_param``: drop columns whose ``percentile`` value exceeds
    ``upper_threshold``."""

    percentile: Number = Field(default=1.0, ge=0, le=1)
    upper_threshold: Number = 1.0


class ManuallyFilterParam(FateParam):
    """FATE's ManuallyFilterParam: drop the named / indexed columns, or keep only those."""

    filter_out_indexes: list[StrictInt] | None = None
    filter_out_names: list[StrictStr] | None = None
    left_col_indexes: list[StrictInt] | None = None
    left_col_names: list[StrictStr] | None = None


class PercentageValueParam(FateParam):
    """FATE's PercentageValueParam: drop a column whose most frequent value's share of the
    rows exceeds ``upper_pct``."""

    upper_pct: Number = Field(default=1.0, ge=0, le=1)


class CorrelationFilterParam(FateParam):
    """FATE's CorrelationFilterParam: in descending IV order, drop a feature whose |r| with an
    already kept one exceeds ``threshold``."""

    sort_metric: StrictStr = "iv"
    threshold: Number = Field(default=0.1, ge=0, le=1)
    select_federated: StrictBool = True

    @field_validator("sort_metric", mode="before")
    @classmethod
    def _iv(cls, value: object) -> object:
        if lower(value) != "iv":
            raise ValueError("correlation_filter sorts by 'iv' (the only sort_metric FATE has)")
        return lower(value)


class FeatureSelectionParam(FateParam):
    """FATE's FeatureSelectionParam."""

    select_col_indexes: StrictInt | list[StrictInt] = -1
    select_names: list[StrictStr] | None = None
    filter_methods: list[StrictStr] = Field(default_factory=lambda: ["manually"])
    unique_param: UniqueValueParam = UniqueValueParam()
    iv_value_param: IVValueSelectionParam = IVValueSelectionParam()
    iv_percentile_param: IVPercentileSelectionParam = IVPercentileSelectionParam()
    iv_top_k_param: IVTopKParam = IVTopKParam()
    variance_coe_param: VarianceOfCoeSelectionParam = VarianceOfCoeSelectionParam()
    outlier_param: OutlierColsSelectionParam = OutlierColsSelectionParam()
    manually_param: ManuallyFilterParam = ManuallyFilterParam()
    percentage_value_param: PercentageValueParam = PercentageValueParam()
    iv_param: IVFilterParam = IVFilterParam()
    statistic_param: CommonFilterParam = CommonFilterParam()
    vif_param: VifParam = VifParam()
    psi_param: PsiFilterParam = PsiFilterParam()
    correlation_param: CorrelationFilterParam = CorrelationFilterParam()
    use_anonymous: StrictBool = False
    need_run: StrictBool = True

    only_default: ClassVar[Mapping[str, str]] = {
        "use_anonymous": "host features are always anonymous at the guest "
        "(host_<party id>_<column index>)",
    }

    @field_validator("filter_methods", mode="before")
    @classmethod
    def _methods(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        out = []
        for item in value:
            name = str(lower(item))
            if name in REFUSED_FILTERS:
                raise ValueError(f"filter {name!r} is not supported: {REFUSED_FILTERS[name]}")
            if name not in FILTERS:
                raise ValueError(f"unknown filter {item!r}: use {', '.join(FILTERS)}")
            out.append(name)
        return out

    @field_validator("select_col_indexes")
    @classmethod
    def _indexes(cls, value: int | list[int]) -> int | list[int]:
        if isinstance(value, int) and value != -1:
            raise ValueError("select_col_indexes is -1 (all columns) or a list of positions")
        if isinstance(value, list) and any(v < 0 for v in value):
            raise ValueError("select_col_indexes are 0-based positions")
        return value
