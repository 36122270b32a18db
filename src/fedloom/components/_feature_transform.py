"""What the local feature transformers share (FeatureScale, OneHotEncoder, FeatureImputation,
LabelTransform, ColumnExpand): fit or transform mode, the model file, columns by name.

Every one of them runs at each data-holding party on that party's own table and sends nothing
to any other party. **Fit** (no input ``model``) learns the state from the input ``data`` and
writes it as a model; **transform** (input ``model``: a model of the same module, from a fit
task of the same job or the deployed model of a predict job) applies exactly that state.

A model file is ``{"module", "meta", "param", "params"}``: ``meta`` and ``param`` carry FATE's
ModelMeta / ModelParam field names, ``params`` the parameter values of the fit. In transform
mode a parameter is applied from the model; one set to a value other than both its default
and the model's is refused (the flow hands every task all parameters, defaults included, so a
default value cannot be told apart from an unset one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel

from fedloom.components.base import ComponentError, TaskCall, TaskResult
from fedloom.components.io import load_model, load_table_with_meta, save_model, save_table
from fedloom.data import Table

__all__ = [
    "check_against_model",
    "finish",
    "load_data",
    "model_part",
    "new_model",
    "pass_through",
    "positions",
    "trained_model",
    "with_columns",
]


def load_data(call: TaskCall) -> tuple[Table, dict[str, Any]]:
    """The input ``data`` table and its meta."""
    artifact = call.input("data", "data", "the table to transform")
    return load_table_with_meta(artifact.path)


def pass_through(call: TaskCall, table: Table, meta: dict[str, Any], why: str) -> TaskResult:
    """The input table unchanged as the data output, no model (``need_run`` false, or nothing
    for the module to do at this party)."""
    out = save_table(call.output_dir / "data.npz", table, meta)
    return TaskResult(data={"data": out}, metrics={"mode": "pass_through", "reason": why})


def trained_model(call: TaskCall) -> dict[str, Any] | None:
    """The input ``model`` of this module (transform mode), or None (fit mode)."""
    if "model" not in call.inputs:
        return None
    model = load_model(call.input("model", "model", f"a {call.module} model").path)
    if model.get("module") != call.module:
        raise ComponentError(
            f"{call.module}: the input model is not a {call.module} model "
            f"(module {model.get('module')!r})"
        )
    for key in ("meta", "param", "params"):
        if not isinstance(model.get(key), dict):
            raise ComponentError(f"{call.module}: the input model has no {key!r} object")
    return model


def check_against_model(call: TaskCall, model: dict[str, Any]) -> None:
    """Refuse a parameter set to a value other than its default and the model's."""
    param: BaseModel = call.params
    given = param.model_dump(mode="json")
    defaults = type(param)().model_dump(mode="json")
    trained = model["params"]
    for name in sorted(given):
        if name == "need_run" or given[name] == defaults[name]:
            continue
        if name in trained and given[name] != trained[name]:
            raise ComponentError(
                f"{call.module} with an input model applies the trained state: {name} "
                f"{given[name]!r} differs from the model's {trained[name]!r}"
            )


def positions(module: str, header: Sequence[str], names: Sequence[str], what: str) -> list[int]:
    """The column index of each of ``names``; a ComponentError naming the absent ones."""
    index = {name: j for j, name in enumerate(header)}
    absent = [name for name in names if name not in index]
    if absent:
        raise ComponentError(
            f"{module}: the table has no column {', '.join(repr(a) for a in absent)} "
            f"({what}); its columns are {list(header)}"
        )
    return [index[name] for name in names]


def with_columns(
    table: Table, header: list[str], features: np.ndarray[Any, np.dtype[np.float64]]
) -> Table:
    """``table`` with other feature columns (ids, labels and weights kept)."""
    return dataclasses.replace(table, header=list(header), features=features)


def finish(
    call: TaskCall,
    table: Table,
    meta: dict[str, Any],
    model: dict[str, Any],
    metrics: dict[str, Any],
) -> TaskResult:
    """Write the data output and the model; the task's result."""
    out = save_table(call.output_dir / "data.npz", table, meta)
    path = save_model(call.output_dir / "model.json", model)
    return TaskResult(data={"data": out}, model=path, metrics=metrics)


def new_model(call: TaskCall, meta: dict[str, Any], param: dict[str, Any]) -> dict[str, Any]:
    """A model file of ``call``'s module: FATE's meta and param, and the fit's parameters."""
    params: BaseModel = call.params
    return {
        "module": call.module,
        "meta": meta,
        "param": param,
        "params": params.model_dump(mode="json"),
    }


def model_part(call: TaskCall, model: dict[str, Any], *path: str) -> Any:
    """``model[path...]``, or a ComponentError saying the input model lacks it."""
    value: Any = model
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise ComponentError(f"{call.module}: the input model has no {'.'.join(path)}")
        value = value[key]
    return value
