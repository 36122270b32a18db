"""Union: several tables of one party → one table (local; no message crosses parties).

Inputs ``data``, ``data_1``, ... (FATE's ``"data": {"data": [a.data, b.data, ...]}``), read in
that order; empty tables are skipped. A row whose id an earlier table gave is dropped (the
first table's row wins, as in FATE) or, with ``keep_duplicate``, kept under the id
``<id>_<input key>``. Every non-empty table must have the same header unless
``allow_missing``, which unites the headers by name (first seen first) with NaN in the rows of
tables lacking a column (DataTransform or FeatureImputation fill them later). Labels must be in
all tables or none; instance weights, when some tables have them, are 1 in the others.

No model (nothing to replay in predict jobs); metrics: each input's row count and the result's.
"""

from __future__ import annotations

import re
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
from fedloom.components.io import load_table_with_meta, save_table
from fedloom.components.union_param import UnionParam
from fedloom.data import Table

__all__ = ["UNION", "UnionParam", "run_union"]

MAX_INPUTS = 16
_KEY = re.compile(r"data(?:_(\d+))?")


def run_union(call: TaskCall) -> TaskResult:
    """Union at the guest or a host: inputs ``data``, ``data_1``... → data output ``data``."""
    param = call.params
    assert isinstance(param, UnionParam)
    keys = sorted((k for k in call.inputs if _KEY.fullmatch(k)), key=_position)
    if not keys:
        call.input("data", "data", "the tables to unite")
    tables = [(k, load_table_with_meta(call.input(k, "data", "a table").path)[0]) for k in keys]
    if not param.need_run:
        out = save_table(call.output_dir / "data.npz", tables[0][1], {"source": call.module})
        return TaskResult(data={"data": out}, metrics={"need_run": False})
    filled = [(k, t) for k, t in tables if len(t)]
    if not filled:
        out = save_table(call.output_dir / "data.npz", tables[0][1], {"source": call.module})
        return TaskResult(data={"data": out}, metrics={"count": 0})
    result = _unite(call, param, filled)
    metrics: dict[str, Any] = {"inputs": {k: len(t) for k, t in tables}, "count": len(result)}
    out = save_table(call.output_dir / "data.npz", result, {"source": call.module})
    return TaskResult(data={"data": out}, metrics=metrics)


def _position(key: str) -> int:
    match = _KEY.fullmatch(key)
    assert match is not None
    return int(match.group(1) or 0)


def _unite(call: TaskCall, param: UnionParam, tables: list[tuple[str, Table]]) -> Table:
    header = list(tables[0][1].header)
    for key, table in tables[1:]:
        if table.header != header:
            if not param.allow_missing:
                raise ComponentError(
                    f"{call.module}: input {key!r} has another header than {tables[0][0]!r}; "
                    "set allow_missing to unite the columns by name"
                )
            header += [h for h in table.header if h not in header]
    labelled = {t.labels is not None for _, t in tables}
    if len(labelled) > 1:
        raise ComponentError(f"{call.module}: some inputs have labels and others not")
    weighted = any(t.weights is not None for _, t in tables)
    ids: list[str] = []
    seen: set[str] = set()
    rows: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    labels: list[float] = []
    weights: list[float] = []
    for key, table in tables:
        where = [header.index(h) for h in table.header]
        block = np.full((len(table), len(header)), np.nan)
        block[:, where] = table.features
        for i, sample_id in enumerate(table.ids):
            if sample_id in seen:
                if not param.keep_duplicate:
                    continue
                sample_id = f"{sample_id}_{key}"
                if sample_id in seen:
                    raise ComponentError(
                        f"{call.module}: the new id {sample_id!r} of a duplicate is taken"
                    )
            seen.add(sample_id)
            ids.append(sample_id)
            rows.append(block[i])
            if table.labels is not None:
                labels.append(float(table.labels[i]))
            if weighted:
                weights.append(1.0 if table.weights is None else float(table.weights[i]))
    return Table(
        ids,
        header,
        np.vstack(rows),
        np.asarray(labels) if labelled == {True} else None,
        np.asarray(weights) if weighted else None,
    )


UNION = ComponentDef(
    module="Union",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=UnionParam,
    runners=same_runner(run_union, PARTIES),
    data_inputs={"data": (1, MAX_INPUTS)},
    outputs=frozenset({"data"}),
    need_deploy=False,
)
"""The Union module's declaration."""
