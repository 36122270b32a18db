"""ColumnExpand: append constant columns to a party's table (FATE's ColumnExpand).

Runs at the guest and at each host on that party's table; nothing leaves the party. In FATE
the module sits between Reader and DataTransform and appends ``fill_value`` to each row's
delimiter-separated text; fedloom's Reader has parsed a dense table into numeric columns
already, so the new columns are appended to those (or to any data table's features), and the
Reader's meta (format, label) is kept for DataTransform. Sparse and tag tables, whose rows the
Reader leaves as text, are refused. Fill values are numbers (a string must name a number:
fedloom's tables are numeric).

**Fit** (input ``data``): ``append_header`` (a name or a list) columns are appended after the
table's columns, filled with ``fill_value`` (one value for every new column, or a list with one
per new column; FATE's default is 1e-8). No ``append_header``: the table passes unchanged
(FATE). A new name already in the table is refused.

**Transform** (input ``model``): the model's columns and values are appended. ColumnExpand
reads no column of the table, so none is required (as in FATE; a predict table usually lacks
the label column): the DataTransform after it names any trained column the table lacks.

Model (FATE names): ``meta`` ``{append_header, method, fill_value, need_run}`` (``fill_value``
as strings, one per new column, as FATE writes them); ``param`` ``{header}``: the output
columns of the fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import StrictBool, StrictFloat, StrictInt, StrictStr, field_validator, model_validator

from fedloom.components._feature_transform import (
    check_against_model,
    finish,
    load_data,
    model_part,
    new_model,
    pass_through,
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

__all__ = ["COLUMN_EXPAND", "ColumnExpandParam", "run_column_expand"]

Fill = StrictInt | StrictFloat | StrictStr


def _numeric(value: float | int | str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(
            f"fill_value {value!r} is not a number; fedloom's tables are numeric"
        ) from None
    if not np.isfinite(number):
        raise ValueError(f"fill_value {value!r} is not a finite number")
    return number


class ColumnExpandParam(FateParam):
    """FATE's ColumnExpandParam: names and defaults."""

    append_header: StrictStr | list[StrictStr] | None = None
    method: str = "manual"
    fill_value: Fill | list[Fill] = 1e-8
    need_run: StrictBool = True

    _lower = field_validator("method", mode="before")(lower)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        return supported(value, ("manual",), {})

    @field_validator("append_header")
    @classmethod
    def _names(cls, value: str | list[str] | None) -> str | list[str] | None:
        names = [value] if isinstance(value, str) else value or []
        for name in names:
            if not name.strip() or any(c in name for c in ',"\r\n'):
                raise ValueError(f"{name!r} is not a column name (empty, or a comma / quote)")
        if len(set(names)) != len(names):
            raise ValueError(f"names a column twice: {names}")
        return value

    @field_validator("fill_value")
    @classmethod
    def _fill(cls, value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:
            _numeric(item)
        return value

    @model_validator(mode="after")
    def _lengths(self) -> ColumnExpandParam:
        if isinstance(self.fill_value, list) and len(self.fill_value) != len(self.names()):
            raise ValueError(
                f"fill_value lists {len(self.fill_value)} values for "
                f"{len(self.names())} append_header columns"
            )
        return self

    def names(self) -> list[str]:
        """``append_header`` as a list."""
        value = self.append_header
        return [value] if isinstance(value, str) else list(value or [])

    def values(self) -> list[float]:
        """One fill value per new column."""
        fill = self.fill_value
        items = fill if isinstance(fill, list) else [fill] * len(self.names())
        return [_numeric(v) for v in items]


def run_column_expand(call: TaskCall) -> TaskResult:
    """ColumnExpand at the guest or a host: fit (``data``) or transform (``model`` +
    ``data``)."""
    param = call.params
    assert isinstance(param, ColumnExpandParam)
    table, meta = load_data(call)
    if not param.need_run:
        return pass_through(call, table, meta, "need_run is false")
    fmt = meta.get("format")
    text_rows = isinstance(fmt, dict) and fmt.get("input_format", "dense") != "dense"
    if text_rows or "raw_rows" in meta:
        raise ComponentError(
            "ColumnExpand appends numeric columns to dense tables; this table's rows are "
            "sparse / tag text, which DataTransform parses"
        )
    model = trained_model(call)
    if model is None:
        names, values = param.names(), param.values()
        model = new_model(
            call,
            {
                "append_header": names,
                "method": param.method,
                "fill_value": [repr(v) for v in values],
                "need_run": True,
            },
            {"header": [*table.header, *names]},
        )
    else:
        check_against_model(call, model)
        names, values = _trained(call, model)
    clash = [name for name in names if name in table.header]
    if clash:
        raise ComponentError(f"ColumnExpand: the table has column(s) {clash} already")
    new = np.tile(np.asarray(values, dtype=np.float64), (len(table), 1))
    features = np.hstack([table.features, new.reshape(len(table), len(names))])
    metrics = {
        "mode": "fit" if "model" not in call.inputs else "transform",
        "appended": len(names),
    }
    out = with_columns(table, [*table.header, *names], features)
    return finish(call, out, {**meta, "source": call.module}, model, metrics)


def _trained(call: TaskCall, model: dict[str, Any]) -> tuple[list[str], list[float]]:
    names = model_part(call, model, "meta", "append_header")
    values = model_part(call, model, "meta", "fill_value")
    try:
        if len(names) != len(values):
            raise ValueError("append_header and fill_value differ in length")
        return [str(n) for n in names], [_numeric(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise ComponentError(f"ColumnExpand: invalid model ({exc})") from None


COLUMN_EXPAND = ComponentDef(
    module="ColumnExpand",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=ColumnExpandParam,
    runners=same_runner(run_column_expand, PARTIES),
    data_inputs={"data": (1, 1)},
    model_inputs={"model": (0, 1)},
    outputs=frozenset({"data", "model"}),
)
"""The ColumnExpand module's declaration."""
