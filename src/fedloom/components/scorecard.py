"""Scorecard: a binary model's event probabilities as credit scores, at the guest (FATE 1.x's
``Scorecard`` module and ``ScorecardParam``).

With ``p`` the ``predict_score`` of a row (the probability of the event, e.g. default) and
``odds = (1 − p) / p`` the odds of the non-event ("good" against "bad"), method ``credit``
computes

    credit_score = offset + factor / ln(factor_base) · ln(odds)

then clips it to ``[lower_limit_value, upper_limit_ratio · offset]``. A higher score means a
lower risk: each ``factor_base``-fold increase of the odds adds ``factor`` points (FATE's
defaults: 500 points at even odds, 20 points to double the odds, scores in [0, 1500]).
``p = 0`` scores the upper limit and ``p = 1`` the lower one.

The output table keeps the ids, labels and meta (type, producer) of its input with FATE's
columns ``predict_score`` and ``credit_score`` (``label`` first when the input had labels).
Hosts and the arbiter hold no predictions: their task does nothing. With ``need_run`` false the
guest passes its input through unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator
from pydantic import model_validator as _model_validator

from fedloom.components.base import (
    ALL_ROLES,
    ComponentDef,
    ComponentError,
    FateParam,
    TaskCall,
    TaskResult,
    lower,
    same_runner,
    supported,
)
from fedloom.components.io import load_table_with_meta, save_table
from fedloom.data import Table

Vector = NDArray[np.float64]
SCORE_HEADER = ["predict_score", "credit_score"]


class ScorecardParam(FateParam):
    """FATE's ``ScorecardParam``: ``method`` (``credit``), ``offset``, ``factor``,
    ``factor_base``, ``upper_limit_ratio``, ``lower_limit_value`` and ``need_run``."""

    method: StrictStr = "credit"
    offset: StrictInt | StrictFloat = 500
    factor: StrictInt | StrictFloat = 20
    factor_base: StrictInt | StrictFloat = 2
    upper_limit_ratio: StrictInt | StrictFloat = Field(default=3, gt=0)
    lower_limit_value: StrictInt | StrictFloat = 0
    need_run: StrictBool = True

    _lower = field_validator("method", mode="before")(lower)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        return supported(value, ("credit",), {})

    @field_validator("offset", "factor", "factor_base", "lower_limit_value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value!r}")
        return value

    @field_validator("factor_base")
    @classmethod
    def _base(cls, value: float) -> float:
        if value <= 0 or value == 1:
            raise ValueError(
                f"factor_base must be positive and not 1 (ln of it divides), got {value}"
            )
        return value

    @_model_validator(mode="after")
    def _limits(self) -> ScorecardParam:
        if self.lower_limit_value > self.upper_limit_ratio * self.offset:
            raise ValueError(
                f"lower_limit_value {self.lower_limit_value} is above the upper limit "
                f"upper_limit_ratio × offset = {self.upper_limit_ratio * self.offset}"
            )
        return self


def credit_scores(probabilities: Vector, param: ScorecardParam) -> Vector:
    """``offset + factor / ln(factor_base) · ln((1 − p) / p)``, clipped to the limits."""
    p = np.asarray(probabilities, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_odds = np.log1p(-p) - np.log(p)  # +inf at p = 0, -inf at p = 1
    raw = param.offset + param.factor / math.log(param.factor_base) * log_odds
    upper = param.upper_limit_ratio * param.offset
    # factor / ln(factor_base) < 0 flips the infinities; clipping handles either sign.
    scores: Vector = np.clip(raw, param.lower_limit_value, upper)
    return scores


def run_scorecard(call: TaskCall) -> TaskResult:
    """The guest's credit scores of its input predictions; nothing at other roles."""
    param = call.params
    assert isinstance(param, ScorecardParam)
    if call.role != "guest":
        return TaskResult()
    artifact = call.input("data", "data", "the predictions of a binary model")
    table, meta = load_table_with_meta(artifact.path)
    if not param.need_run:
        return TaskResult(data={"data": save_table(call.output_dir / "data.npz", table, meta)})
    probabilities = _probabilities(table, meta)
    scores = credit_scores(probabilities, param)
    columns = ["id", *(["label"] if table.labels is not None else []), *SCORE_HEADER]
    out_meta: dict[str, Any] = {
        "source": call.module,
        "producer": call.ctx.namespace,
        "type": meta.get("type", "train"),
        "columns": columns,
    }
    scored = Table(
        list(table.ids), list(SCORE_HEADER), np.column_stack([probabilities, scores]), table.labels
    )
    path = save_table(call.output_dir / "data.npz", scored, out_meta)
    metrics = {
        "count": len(table.ids),
        "credit_score": {
            "min": float(scores.min()) if scores.size else None,
            "max": float(scores.max()) if scores.size else None,
            "mean": float(scores.mean()) if scores.size else None,
        },
    }
    return TaskResult(data={"data": path}, metrics=metrics)


def _probabilities(table: Table, meta: dict[str, Any]) -> Vector:
    if "predict_score" not in table.header:
        raise ComponentError(
            "Scorecard needs a prediction table (column predict_score): connect it to a "
            "binary model's data output"
        )
    if meta.get("classes"):
        raise ComponentError(
            "Scorecard scores binary predictions; its input holds one-vs-rest (multi-class) ones"
        )
    p = table.features[:, table.header.index("predict_score")]
    outside = np.flatnonzero(~((p >= 0) & (p <= 1)))
    if outside.size:
        raise ComponentError(
            f"Scorecard: predict_score must be a probability in [0, 1]; row {int(outside[0])} "
            "is not (a regression model's output?)"
        )
    return p


SCORECARD = ComponentDef(
    module="Scorecard",
    roles=ALL_ROLES,
    required_roles=("guest",),
    param_model=ScorecardParam,
    runners=same_runner(run_scorecard, ALL_ROLES),
    data_inputs={"data": (1, 1)},
    outputs=frozenset({"data"}),
)
"""The Scorecard module's declaration."""
