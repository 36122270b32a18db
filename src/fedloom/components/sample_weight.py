"""SampleWeight: instance weights for the guest's rows, from class weights or a weight column.

**Fit** (no input ``model``), at the guest: ``class_weight`` ``"balanced"`` gives each class
``n / (classes · count)``, a ``{label: weight}`` dict gives each listed class its weight (1
for the others); ``sample_weight_name`` takes a column of the table as the weights (out of the
features; ``normalize`` divides them by their mean). Neither set: the rows pass unchanged.
The weights travel with the table (``Table.weights``) to HeteroLR / HeteroLinR /
HeteroPoisson, which weigh each row's residual and loss at the guest.

**Transform** (input ``model``): the model's class weights (not recomputed) or its weight
column (``normalize`` recomputed on these rows, as FATE). Parameters other than ``need_run``
must be unset or the model's.

**Hosts** hold no labels and no weights (weights live at the guest): a host's rows pass
unchanged and its model records only its header; ``sample_weight_name`` at a host is refused.
The task exchanges no message, so hosts learn nothing; training with weights sends them the
same encrypted residual as before.

The model keeps FATE's names: ``model_meta`` ``{sample_weight_name, normalize, need_run}``,
``model_param`` ``{header, weight_mode, class_weight}`` with ``weight_mode`` ``"class
weight"``, ``"sample weight name"`` or null and ``class_weight`` ``{label: weight}`` or null.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fedloom.components.base import (
    PARTIES,
    ComponentDef,
    ComponentError,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.io import load_model, load_table_with_meta, save_model, save_table
from fedloom.components.sample_weight_param import SampleWeightParam
from fedloom.data import Table
from fedloom.ml.sampling import balanced_class_weights, class_weights, column_weights

__all__ = ["SAMPLE_WEIGHT", "SampleWeightParam", "run_sample_weight"]

CLASS, COLUMN = "class weight", "sample weight name"


def run_sample_weight(call: TaskCall) -> TaskResult:
    """SampleWeight at the guest or a host: input ``data`` (and optional ``model``) → data
    output ``data`` + model."""
    param = call.params
    assert isinstance(param, SampleWeightParam)
    table, _ = load_table_with_meta(call.input("data", "data", "the rows to weigh").path)
    if not param.need_run:
        out = save_table(call.output_dir / "data.npz", table, {"source": call.module})
        return TaskResult(data={"data": out}, metrics={"need_run": False})
    artifact = call.inputs.get("model")
    if artifact is not None:
        param = _from_model(call, param, load_model(artifact.path))
    if call.role == "host" and param.sample_weight_name is not None:
        raise ComponentError(
            f"{call.module}: sample_weight_name is set at a host; weights live at the guest "
            "(set it under role.guest)"
        )
    header = list(table.header)
    mode: str | None = None
    weights_by_class: dict[str, float] | None = None
    if call.role == "guest" and param.class_weight is not None:
        mode = CLASS
        weights_by_class = _class_weights(call, param, table)
        table = _with(table, class_weights(_labels(call, table), weights_by_class))
    elif param.sample_weight_name is not None:
        mode = COLUMN
        table = _weight_column(call, table, param.sample_weight_name, param.normalize)
    out = save_table(call.output_dir / "data.npz", table, {"source": call.module})
    model = {
        "module": call.module,
        "role": call.role,
        "party_id": call.party_id,
        "model_meta": {
            "sample_weight_name": param.sample_weight_name,
            "normalize": param.normalize,
            "need_run": param.need_run,
        },
        "model_param": {"header": header, "weight_mode": mode, "class_weight": weights_by_class},
    }
    metrics: dict[str, Any] = {
        "weight_mode": mode,
        "class_weight": weights_by_class,
        "classes": sorted(weights_by_class) if weights_by_class else None,
        "sample_weight_name": param.sample_weight_name,
        "mode": "fit" if artifact is None else "transform",
    }
    return TaskResult(
        data={"data": out}, model=save_model(call.output_dir / "model.json", model), metrics=metrics
    )


def _labels(call: TaskCall, table: Table) -> np.ndarray[Any, np.dtype[np.float64]]:
    if table.labels is None:
        raise ComponentError(f"{call.module}: class_weight needs the guest's labels")
    return table.labels


def _class_weights(call: TaskCall, param: SampleWeightParam, table: Table) -> dict[str, float]:
    if param.class_weight == "balanced":
        labels = _labels(call, table)
        if not labels.size:
            raise ComponentError(f"{call.module}: balanced class weights need rows")
        return balanced_class_weights(labels)
    assert isinstance(param.class_weight, dict)
    return {label: float(w) for label, w in param.class_weight.items()}


def _with(table: Table, weights: np.ndarray[Any, np.dtype[np.float64]]) -> Table:
    return Table(list(table.ids), list(table.header), table.features, table.labels, weights)


def _weight_column(call: TaskCall, table: Table, name: str, normalize: bool) -> Table:
    if name not in table.header:
        raise ComponentError(f"{call.module}: sample_weight_name {name!r} is not a column")
    at = table.header.index(name)
    values = table.features[:, at]
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if bad.size:
        row = int(bad[0])
        raise ComponentError(
            f"{call.module}: the weight {values[row]} of id {table.ids[row]!r} (row {row + 1}) "
            "is not a finite number ≥ 0"
        )
    try:
        weights = column_weights(values, normalize)
    except ValueError as exc:
        raise ComponentError(f"{call.module}: {exc}") from None
    keep = [j for j in range(len(table.header)) if j != at]
    return Table(
        list(table.ids),
        [table.header[j] for j in keep],
        table.features[:, keep],
        table.labels,
        weights,
    )


def _from_model(
    call: TaskCall, param: SampleWeightParam, model: dict[str, Any]
) -> SampleWeightParam:
    """The parameters a SampleWeight model applies (class weights fixed, not recomputed)."""
    try:
        if model.get("module") != "SampleWeight":
            raise ValueError("not a SampleWeight model")
        meta, body = model["model_meta"], model["model_param"]
        mode = body["weight_mode"]
        stored: dict[str, Any] = {"normalize": bool(meta["normalize"])}
        if mode == CLASS:
            stored["class_weight"] = {str(k): float(v) for k, v in body["class_weight"].items()}
        elif mode == COLUMN:
            stored["sample_weight_name"] = str(meta["sample_weight_name"])
        elif mode is not None:
            raise ValueError(f"unknown weight_mode {mode!r}")
        trained = SampleWeightParam.model_validate(stored)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ComponentError(f"{call.module}: the input model is invalid ({exc})") from None
    free = {"need_run"} | ({"class_weight"} if call.role == "host" else set())
    for name in sorted(param.model_fields_set - free):
        if getattr(param, name) != getattr(trained, name):
            raise ComponentError(
                f"{call.module} with an input model applies the model's weights: {name} "
                f"{getattr(param, name)!r} differs from the model's {getattr(trained, name)!r}"
            )
    return trained


SAMPLE_WEIGHT = ComponentDef(
    module="SampleWeight",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=SampleWeightParam,
    runners=same_runner(run_sample_weight, PARTIES),
    data_inputs={"data": (1, 1)},
    model_inputs={"model": (0, 1)},
    outputs=frozenset({"data", "model"}),
)
"""The SampleWeight module's declaration."""
