"""OneHotEncoder: integer-valued columns → one 0/1 column per value (FATE's OneHotEncoder).

Runs at the guest and at each host on that party's table; nothing leaves the party.

**Fit** (input ``data``): the columns to encode are ``transform_col_indexes`` (``-1``: every
column) together with ``transform_col_names``; an index beyond the table or an unknown name is
refused (FATE skips it with a warning). Each column's values must be integers (as in FATE; a
missing cell is refused too) and at most 1024 distinct (FATE's ``ONE_HOT_LIMIT``). Each encoded
column is replaced, in place, by one column per value seen, sorted, named ``<column>_<value>``
as in FATE (``x1_0``, ``x1_3``); the other columns stay as they are.

**Transform** (input ``model``): the fitted values are applied to the same columns, found by
name. A value not seen in fit, or a missing cell, gives all zeros in that column's encoded
columns, as in FATE (counted in the ``unknown_values`` metric); a column the table lacks is
named in the error.

Model (FATE names): ``meta`` ``{transform_col_names, header, need_run}``; ``param`` ``{col_map:
{column: {values, transformed_headers}}, result_header}`` (``values`` as strings, as FATE
writes them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import StrictBool, StrictInt, StrictStr, field_validator

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
    same_runner,
)
from fedloom.data import Table
from fedloom.ml.transforms.onehot import EncodeError, encode, fit_values, value_name

__all__ = ["ONE_HOT_ENCODER", "OneHotEncoderParam", "run_one_hot_encoder"]


class OneHotEncoderParam(FateParam):
    """FATE's OneHotEncoderParam: names and defaults."""

    transform_col_indexes: StrictInt | list[StrictInt] | None = -1
    transform_col_names: list[StrictStr] | None = None
    need_run: StrictBool = True

    @field_validator("transform_col_indexes")
    @classmethod
    def _indexes(cls, value: int | list[int] | None) -> int | list[int] | None:
        if isinstance(value, int) and value != -1:
            raise ValueError("must be -1 (every column), a list of column indexes or None")
        if isinstance(value, list) and any(i < 0 for i in value):
            raise ValueError(f"column indexes must be ≥ 0, got {value}")
        return value


def run_one_hot_encoder(call: TaskCall) -> TaskResult:
    """OneHotEncoder at the guest or a host: fit (``data``) or transform (``model`` +
    ``data``)."""
    param = call.params
    assert isinstance(param, OneHotEncoderParam)
    table, meta = load_data(call)
    if not param.need_run:
        return pass_through(call, table, meta, "need_run is false")
    model = trained_model(call)
    if model is None:
        names = _chosen(param, table.header)
        col_values = _fit(table, names)
        model = new_model(
            call,
            {"transform_col_names": names, "header": list(table.header), "need_run": True},
            {
                "col_map": {
                    name: {
                        "values": [str(v) for v in values],
                        "transformed_headers": [value_name(name, v) for v in values],
                    }
                    for name, values in col_values.items()
                },
                "result_header": _result_header(table.header, col_values),
            },
        )
    else:
        check_against_model(call, model)
        col_values = _trained(call, model)
    positions(call.module, table.header, list(col_values), "encoded by the model")
    header = _result_header(table.header, col_values)
    if len(set(header)) != len(header):
        clash = sorted({h for h in header if header.count(h) > 1})
        raise ComponentError(f"OneHotEncoder: encoded column names clash with columns: {clash}")
    blocks, unknown = [], 0
    for j, name in enumerate(table.header):
        column = table.features[:, j]
        if name not in col_values:
            blocks.append(column[:, None])
            continue
        encoded = encode(column, col_values[name])
        unknown += int((encoded.sum(axis=1) == 0).sum())
        blocks.append(encoded)
    features = np.hstack(blocks) if blocks else np.zeros((len(table), 0))
    metrics: dict[str, Any] = {
        "mode": "fit" if "model" not in call.inputs else "transform",
        "original_dimension": len(table.header),
        "transferred_dimension": len(header),
        "unknown_values": unknown,
    }
    return finish(
        call, with_columns(table, header, features), {"source": call.module}, model, metrics
    )


def _chosen(param: OneHotEncoderParam, header: list[str]) -> list[str]:
    """The columns to encode, in header order."""
    if param.transform_col_indexes == -1:
        return list(header)
    indexes = param.transform_col_indexes
    assert indexes is None or isinstance(indexes, list)
    beyond = [i for i in indexes or [] if i >= len(header)]
    if beyond:
        raise ComponentError(
            f"OneHotEncoder: transform_col_indexes {beyond} are beyond the table's "
            f"{len(header)} columns"
        )
    chosen = set(indexes or [])
    chosen.update(
        positions("OneHotEncoder", header, param.transform_col_names or [], "transform_col_names")
    )
    return [header[j] for j in sorted(chosen)]


def _fit(table: Table, names: list[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for name, j in zip(names, positions("OneHotEncoder", table.header, names, ""), strict=True):
        try:
            out[name] = fit_values(table.features[:, j])
        except EncodeError as exc:
            where = "" if exc.row is None else f" at id {table.ids[exc.row]!r} (row {exc.row + 1})"
            raise ComponentError(
                f"OneHotEncoder: column {name!r}{where}: {exc} (FATE encodes integers only)"
            ) from None
    return out


def _result_header(header: list[str], col_values: dict[str, list[int]]) -> list[str]:
    out: list[str] = []
    for name in header:
        if name in col_values:
            out.extend(value_name(name, v) for v in col_values[name])
        else:
            out.append(name)
    return out


def _trained(call: TaskCall, model: dict[str, Any]) -> dict[str, list[int]]:
    names = model_part(call, model, "meta", "transform_col_names")
    col_map = model_part(call, model, "param", "col_map")
    try:
        return {str(n): [int(v) for v in col_map[n]["values"]] for n in names}
    except (KeyError, TypeError, ValueError) as exc:
        raise ComponentError(f"OneHotEncoder: invalid col_map in the model ({exc})") from None


ONE_HOT_ENCODER = ComponentDef(
    module="OneHotEncoder",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=OneHotEncoderParam,
    runners=same_runner(run_one_hot_encoder, PARTIES),
    data_inputs={"data": (1, 1)},
    model_inputs={"model": (0, 1)},
    outputs=frozenset({"data", "model"}),
)
"""The OneHotEncoder module's declaration."""
