"""FeatureImputation: fill missing cells of a party's own columns (FATE's FeatureImputation).

Runs at the guest and at each host on that party's table; nothing leaves the party.

A cell is missing when it is NaN (the Reader's empty / ``NA`` / ``null`` / ``nan`` cells) or
equal to a number listed in ``missing_impute`` (missing markers listed there are NaN already).

**Fit** (input ``data``): each column is filled by its ``col_missing_fill_method`` entry, or
else by ``missing_fill_method``; with neither (FATE: method None) the column is not imputed
(``skip_cols``). Methods: ``designated`` (``default_value``: one number, or a list with one
entry per column of the table, as in FATE), ``mean``, ``median`` (numpy's exact median; FATE
1.x's parameter check lists min / max / mean / designated, its imputer also has median), ``min``
and ``max`` of the column's present cells. A column with no present cell cannot take a
statistic and is refused, named. ``default_value`` set to anything but its default while no
column is ``designated`` is refused: it would have no effect.

**Transform** (input ``model``): the fitted fill values and missing markers are applied to the
same columns, found by name; an imputed column the table lacks is named in the error.

Model (FATE names): ``meta`` ``{imputer_meta: {is_imputer, strategy, missing_value,
missing_value_type}, need_run}``; ``param`` ``{header, imputer_param: {missing_replace_value,
missing_value_ratio, missing_replace_value_type, skip_cols, cols_replace_method}}``, with the
fill values as JSON numbers (FATE writes strings plus their type).
"""

from __future__ import annotations

import math
from typing import Any, Self

from pydantic import StrictBool, StrictFloat, StrictInt, StrictStr, field_validator, model_validator

from fedloom.components._feature_transform import (
    check_against_model,
    finish,
    load_data,
    model_part,
    new_model,
    pass_through,
    positions,
    trained_model,
    with_columns,
)
from fedloom.components.base import (
    PARTIES,
    ComponentDef,
    ComponentError,
    FateParam,
    TaskCall,
    TaskResult,
    lower,
    same_runner,
    supported,
)
from fedloom.data import MISSING_MARKERS, Table
from fedloom.ml.transforms.imputation import (
    METHODS,
    apply_fill,
    fill_value,
    missing_mask,
    missing_ratio,
)

__all__ = ["FEATURE_IMPUTATION", "FeatureImputationParam", "run_feature_imputation"]

Number = StrictInt | StrictFloat


class FeatureImputationParam(FateParam):
    """FATE's FeatureImputationParam: names and defaults."""

    default_value: Number | list[Number] | None = 0
    missing_fill_method: str | None = None
    col_missing_fill_method: dict[str, str] | None = None
    missing_impute: list[Number | StrictStr] | None = None
    need_run: StrictBool = True

    _lower = field_validator("missing_fill_method", mode="before")(lower)

    @field_validator("missing_fill_method")
    @classmethod
    def _method(cls, value: str | None) -> str | None:
        return None if value is None else supported(value, METHODS, {})

    @field_validator("col_missing_fill_method")
    @classmethod
    def _col_methods(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {col: supported(m.lower(), METHODS, {}) for col, m in value.items()}

    @field_validator("missing_impute")
    @classmethod
    def _impute(cls, value: list[float | int | str] | None) -> list[float | int | str] | None:
        for item in value or []:
            if isinstance(item, str) and item.strip().lower() not in MISSING_MARKERS:
                try:
                    float(item)
                except ValueError:
                    raise ValueError(
                        f"{item!r}: fedloom tables are numeric, so only numbers and the missing "
                        f"markers {sorted(MISSING_MARKERS)} can be listed"
                    ) from None
        return value

    @model_validator(mode="after")
    def _designated_value(self) -> Self:
        methods = {self.missing_fill_method, *(self.col_missing_fill_method or {}).values()}
        if "designated" not in methods and self.default_value != 0:
            raise ValueError(
                "default_value fills 'designated' columns only, and no column uses "
                "'designated' (missing_fill_method / col_missing_fill_method)"
            )
        return self

    def listed_missing(self) -> list[float]:
        """The numbers ``missing_impute`` lists (its missing markers are NaN already)."""
        out = []
        for item in self.missing_impute or []:
            if isinstance(item, str) and item.strip().lower() in MISSING_MARKERS:
                continue
            number = float(item)
            if not math.isnan(number):
                out.append(number)
        return out


def run_feature_imputation(call: TaskCall) -> TaskResult:
    """FeatureImputation at the guest or a host: fit (``data``) or transform (``model`` +
    ``data``)."""
    param = call.params
    assert isinstance(param, FeatureImputationParam)
    table, meta = load_data(call)
    if not param.need_run:
        return pass_through(call, table, meta, "need_run is false")
    model = trained_model(call)
    if model is None:
        listed = param.listed_missing()
        methods = _methods(param, table.header)
        values = _fit(param, table, methods, listed)
        model = _model(call, param, table, methods, values, listed)
    else:
        check_against_model(call, model)
        values, listed = _trained(call, model)
    names = list(values)
    idx = positions(call.module, table.header, names, "imputed by the model")
    x = table.features[:, idx]
    missing = missing_mask(x, listed)
    features = table.features.copy()
    features[:, idx] = apply_fill(x, missing, [values[n] for n in names])
    metrics: dict[str, Any] = {
        "mode": "fit" if "model" not in call.inputs else "transform",
        "imputed_columns": len(names),
        "filled_cells": int(missing.sum()),
    }
    out = with_columns(table, table.header, features)
    return finish(call, out, {"source": call.module}, model, metrics)


def _methods(param: FeatureImputationParam, header: list[str]) -> dict[str, str | None]:
    """Each column's fill method (None: not imputed)."""
    per_column = param.col_missing_fill_method or {}
    positions("FeatureImputation", header, list(per_column), "col_missing_fill_method")
    return {name: per_column.get(name, param.missing_fill_method) for name in header}


def _fit(
    param: FeatureImputationParam,
    table: Table,
    methods: dict[str, str | None],
    listed: list[float],
) -> dict[str, float]:
    default = param.default_value
    if isinstance(default, list) and len(default) != len(table.header):
        raise ComponentError(
            f"FeatureImputation: default_value lists {len(default)} values, but the table has "
            f"{len(table.header)} columns (a list has one entry per column, as in FATE)"
        )
    missing = missing_mask(table.features, listed)
    values: dict[str, float] = {}
    for j, name in enumerate(table.header):
        method = methods[name]
        if method is None:
            continue
        designated = default[j] if isinstance(default, list) else default
        try:
            values[name] = fill_value(table.features[:, j], missing[:, j], method, designated)
        except ValueError as exc:
            raise ComponentError(f"FeatureImputation: column {name!r}: {exc}") from None
    return values


def _model(
    call: TaskCall,
    param: FeatureImputationParam,
    table: Table,
    methods: dict[str, str | None],
    values: dict[str, float],
    listed: list[float],
) -> dict[str, Any]:
    ratio = missing_ratio(missing_mask(table.features, listed))
    return new_model(
        call,
        {
            "imputer_meta": {
                "is_imputer": True,
                "strategy": param.missing_fill_method,
                "missing_value": listed,
                "missing_value_type": ["float"] * len(listed),
            },
            "need_run": True,
        },
        {
            "header": list(table.header),
            "imputer_param": {
                "missing_replace_value": values,
                "missing_value_ratio": {
                    name: float(ratio[j]) for j, name in enumerate(table.header)
                },
                "missing_replace_value_type": {name: "float" for name in values},
                "skip_cols": [name for name in table.header if methods[name] is None],
                "cols_replace_method": {n: m for n, m in methods.items() if m is not None},
            },
        },
    )


def _trained(call: TaskCall, model: dict[str, Any]) -> tuple[dict[str, float], list[float]]:
    values = model_part(call, model, "param", "imputer_param", "missing_replace_value")
    listed = model_part(call, model, "meta", "imputer_meta", "missing_value")
    try:
        return (
            {str(n): float(v) for n, v in values.items()},
            [float(v) for v in listed],
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise ComponentError(f"FeatureImputation: invalid imputer model ({exc})") from None


FEATURE_IMPUTATION = ComponentDef(
    module="FeatureImputation",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=FeatureImputationParam,
    runners=same_runner(run_feature_imputation, PARTIES),
    data_inputs={"data": (1, 1)},
    model_inputs={"model": (0, 1)},
    outputs=frozenset({"data", "model"}),
)
"""The FeatureImputation module's declaration."""
