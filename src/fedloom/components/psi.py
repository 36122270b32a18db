"""PSI: population stability index of every column between two tables (FATE 1.x's ``PSI``
module and ``PSIParam``), computed by each data-holding party on its own columns.

Inputs (FATE's DSL): ``input.data.train_data`` (the reference population, e.g. the training
table) and ``input.data.validate_data`` (the population to compare, e.g. a later month), as
FATE's PSI job files name them; ``expect_data`` / ``actual_data`` are accepted as well. Every
column of the expected table is binned on its own quantiles (at most ``max_bin_num`` bins) and
the actual table's values are counted in the same bins (:mod:`fedloom.ml.evaluation.stability`:
formula, empty bins, missing values). Prediction tables work the same way, so the PSI of a
model's ``predict_score`` between two scorings is the ``predict_score`` entry.

Nothing crosses a party boundary: guest and host each read only their own tables, and the
arbiter has none (its task does nothing). The metrics and model stay with the party.

- ``dense_missing_val``: a value that marks a missing cell (besides NaN, which always does);
  missing cells form their own bin.
- ``binning_error``: FATE's allowed rank error of its quantile summary. fedloom sorts the
  values and takes exact quantiles, which meet every such bound; the value is checked
  (0 < error < 1) and recorded in the model meta.

Model (``model_param``): ``header``, ``total_score`` (column → PSI) and ``feature_psi``
(column → ``interval``, ``split_points``, ``expect_count`` / ``actual_count``,
``expect_perc`` / ``actual_perc``, ``psi`` per bin, ``total_psi``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator

from fedloom.components.base import (
    ALL_ROLES,
    ComponentDef,
    ComponentError,
    FateParam,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.io import json_safe, load_table_with_meta, save_model
from fedloom.ml.evaluation import population_stability


class PSIParam(FateParam):
    """FATE's ``PSIParam``: ``max_bin_num``, ``need_run``, ``dense_missing_val`` and
    ``binning_error``."""

    max_bin_num: StrictInt = Field(default=20, ge=2)
    need_run: StrictBool = True
    dense_missing_val: StrictInt | StrictFloat | StrictStr | None = None
    binning_error: StrictFloat = 1e-4

    @field_validator("dense_missing_val")
    @classmethod
    def _missing(cls, value: float | str | None) -> float | None:
        if isinstance(value, str):
            raise ValueError(
                "tables are numeric here (DataTransform turns missing cells into NaN); "
                "give the number that marks a missing cell, or null"
            )
        if value is not None and not math.isfinite(value):
            raise ValueError("NaN already marks a missing cell; give a finite value or null")
        return value

    @field_validator("binning_error")
    @classmethod
    def _error(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError(f"binning_error must lie in (0, 1), got {value}")
        return value


def _either(call: TaskCall, fate: str, alias: str, what: str) -> Path:
    """The input under FATE's slot name, or under its alias when only that is given."""
    key = alias if alias in call.inputs and fate not in call.inputs else fate
    return call.input(key, "data", f"{what} table ({fate} or {alias})").path


def run_psi(call: TaskCall) -> TaskResult:
    """The PSI of every column of this party's ``actual_data`` against its ``expect_data``."""
    param = call.params
    assert isinstance(param, PSIParam)
    if call.role == "arbiter" or not param.need_run:
        return TaskResult()
    expect, _ = load_table_with_meta(_either(call, "train_data", "expect_data", "the reference"))
    actual, _ = load_table_with_meta(_either(call, "validate_data", "actual_data", "the compared"))
    missing = [c for c in expect.header if c not in actual.header]
    if missing:
        raise ComponentError(
            f"PSI: actual_data lacks {len(missing)} column(s) of expect_data, e.g. {missing[0]!r}"
        )
    if not expect.ids or not actual.ids:
        raise ComponentError("PSI needs rows in both expect_data and actual_data")
    marker = None if param.dense_missing_val is None else float(param.dense_missing_val)
    total: dict[str, float] = {}
    details: dict[str, dict[str, Any]] = {}
    for j, name in enumerate(expect.header):
        expected = _with_missing(expect.features[:, j], marker)
        observed = _with_missing(actual.features[:, actual.header.index(name)], marker)
        try:
            report = population_stability(expected, observed, param.max_bin_num)
        except ValueError as exc:
            raise ComponentError(f"PSI of column {name!r}: {exc}") from None
        total[name] = report.total_psi
        details[name] = {
            "interval": report.intervals,
            "split_points": report.split_points,
            "expect_count": report.expected_count,
            "actual_count": report.actual_count,
            "expect_perc": report.expected_percentage,
            "actual_perc": report.actual_percentage,
            "psi": report.psi,
            "total_psi": report.total_psi,
        }
    model = {
        "module": call.module,
        "role": call.role,
        "party_id": call.party_id,
        "model_meta": {
            "max_bin_num": param.max_bin_num,
            "dense_missing_val": param.dense_missing_val,
            "binning_error": param.binning_error,
            "need_run": param.need_run,
        },
        "model_param": json_safe(
            {"header": list(expect.header), "total_score": total, "feature_psi": details}
        ),
    }
    metrics = json_safe(
        {
            "expect_count": len(expect.ids),
            "actual_count": len(actual.ids),
            "total_score": total,
            "feature_psi": details,
        }
    )
    return TaskResult(model=save_model(call.output_dir / "model.json", model), metrics=metrics)


def _with_missing(column: np.ndarray[Any, np.dtype[np.float64]], marker: float | None) -> Any:
    if marker is None:
        return column
    return np.where(column == marker, np.nan, column)


PSI = ComponentDef(
    module="PSI",
    roles=ALL_ROLES,
    required_roles=("guest",),
    param_model=PSIParam,
    runners=same_runner(run_psi, ALL_ROLES),
    data_inputs={
        "train_data": (0, 1),
        "validate_data": (0, 1),
        "expect_data": (0, 1),
        "actual_data": (0, 1),
    },
    outputs=frozenset({"model"}),
    need_deploy=False,
)
"""The PSI module's declaration (the reference and compared tables as ``train_data`` and
``validate_data``, FATE's slots, or ``expect_data`` and ``actual_data``)."""
