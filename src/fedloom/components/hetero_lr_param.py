"""FATE's ``HeteroLogisticParam``, every name and default, mapped to ``HeteroLRParam``.

The options FATE's linear models share live in :mod:`._glm_param`; HeteroLR adds
``predict_param`` (the class-1 threshold) and ``multi_class`` (one-vs-rest only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, StrictStr, field_validator

from fedloom.components._glm_param import (
    CallbackParam,
    CrossValidationParam,
    EncryptedModeCalculatorParam,
    EncryptParam,
    GlmParam,
    InitParam,
    PredictParam,
    SQNParam,
    StepwiseParam,
)
from fedloom.components.base import lower

__all__ = [
    "CallbackParam",
    "CrossValidationParam",
    "EncryptParam",
    "EncryptedModeCalculatorParam",
    "HeteroLogisticParam",
    "InitParam",
    "PredictParam",
    "SQNParam",
    "StepwiseParam",
]


class HeteroLogisticParam(GlmParam):
    """FATE's HeteroLR parameters (FATE 1.x ``HeteroLogisticParam``)."""

    metric_kind: ClassVar[str] = "binary"
    optimizer: StrictStr = "rmsprop"
    metrics: list[StrictStr] | None = Field(default_factory=lambda: ["auc", "ks"])
    predict_param: PredictParam = PredictParam()
    multi_class: StrictStr = "ovr"

    only_default: ClassVar[Mapping[str, str]] = {
        "multi_class": "one-vs-rest ('ovr') is the multi-class strategy fedloom implements",
    }
    _lower_multi = field_validator("multi_class", mode="before")(lower)

    def ml_extra(self) -> dict[str, Any]:
        """The class-1 threshold validation metrics use."""
        return {"threshold": float(self.predict_param.threshold)}
