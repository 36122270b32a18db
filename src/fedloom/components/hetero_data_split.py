"""HeteroDataSplit: the aligned rows → train, validate and test tables, aligned across parties.

The guest draws the split (:mod:`fedloom.ml.sampling.draws`: FATE's size rules, optionally
stratified by label or by ``split_points`` bins of a continuous label); each host first sends
a digest of its id set, and, when it equals the guest's, receives the row positions of each
part in the shared sorted-id order (as FATE sends the id sets). After Intersection the parties
hold exactly these ids already, so a host learns which of its rows went to which part and
nothing else; a host whose ids differ is refused before any position is sent.

Three data outputs, in order ``train``, ``validate``, ``test`` (FATE's DSL:
``"output": {"data": ["train", "validate", "test"]}``, referenced as
``hetero_data_split_0.train``); each holds its rows in sorted-id order at every party, with
their labels and instance weights. No model: a split is not replayed in predict jobs (FATE's
``need_deploy`` false). Metrics: the row count of each part (and, at the guest, each part's
label counts for classification labels).
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
from fedloom.components.hetero_data_split_param import DataSplitParam
from fedloom.components.io import load_table_with_meta, save_table
from fedloom.data import Table
from fedloom.federation import FederationError
from fedloom.ml.sampling import (
    PartRules,
    draw_split,
    follow_parts,
    label_key,
    share_parts,
    sorted_order,
    split_sizes,
)
from fedloom.ml.sampling.draws import strata

__all__ = ["HETERO_DATA_SPLIT", "DataSplitParam", "run_data_split"]

OUTPUTS = ("train", "validate", "test")


def run_data_split(call: TaskCall) -> TaskResult:
    """HeteroDataSplit at the guest (draws) or a host (follows): input ``data`` → data
    outputs ``train``, ``validate``, ``test``."""
    param = call.params
    assert isinstance(param, DataSplitParam)
    table, _ = load_table_with_meta(call.input("data", "data", "the rows to split").path)
    if not param.need_run:
        out = save_table(call.output_dir / "train.npz", table, {"source": call.module})
        return TaskResult(data={"train": out}, metrics={"need_run": False})
    ids = list(table.ids)
    if len(set(ids)) != len(ids):
        raise ComponentError(f"{call.module}: the {call.role}'s table has duplicate ids")
    rows = len(ids)
    try:
        counts = split_sizes(rows, param.train_size, param.validate_size, param.test_size)
    except ValueError as exc:
        raise ComponentError(f"{call.module}: {exc}") from None
    order = sorted_order(ids)
    ctx = call.ctx.sub("split")
    try:
        if call.role == "guest":
            parts = _draw(call, param, table, order, counts)
            share_parts(ctx, ids, parts)
        else:
            rules = PartRules(3, partition=True, sizes=None if param.stratified else counts)
            parts = follow_parts(ctx, ids, rules)
    except (ValueError, FederationError) as exc:
        raise ComponentError(f"{call.module} at the {call.role}: {exc}") from None
    data, metrics = {}, {}
    for name, part in zip(OUTPUTS, parts, strict=True):
        piece = table.take(order[part])
        data[name] = save_table(
            call.output_dir / f"{name}.npz", piece, {"source": call.module, "part": name}
        )
        metrics[name] = _summary(piece, call.role)
    return TaskResult(data=data, metrics=metrics)


def _draw(
    call: TaskCall,
    param: DataSplitParam,
    table: Table,
    order: np.ndarray[Any, np.dtype[np.int64]],
    counts: tuple[int, int, int],
) -> list[np.ndarray[Any, np.dtype[np.int64]]]:
    """The guest's parts, positions in sorted-id order."""
    rng = np.random.default_rng(param.random_state) if param.shuffle else None
    groups = None
    if param.stratified:
        if table.labels is None:
            raise ComponentError(f"{call.module}: a stratified split needs the guest's labels")
        points = None if param.split_points is None else [float(p) for p in param.split_points]
        groups = strata(table.labels[order], points)
    return draw_split(len(table), counts, rng, groups)


def _summary(table: Table, role: str) -> dict[str, Any]:
    summary: dict[str, Any] = {"count": len(table)}
    labels = table.labels
    if role == "guest" and labels is not None:
        values, counts = np.unique(labels, return_counts=True)
        if values.size <= 100 and np.all(values == np.round(values)):
            summary["label_count"] = {
                label_key(v): int(c) for v, c in zip(values, counts, strict=True)
            }
    return summary


HETERO_DATA_SPLIT = ComponentDef(
    module="HeteroDataSplit",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=DataSplitParam,
    runners=same_runner(run_data_split, PARTIES),
    data_inputs={"data": (1, 1)},
    outputs=frozenset({"data"}),
    consistent_params=(
        "random_state",
        "test_size",
        "train_size",
        "validate_size",
        "stratified",
        "shuffle",
        "split_points",
        "need_run",
    ),
    need_deploy=False,
    data_output_names=OUTPUTS,
)
"""The HeteroDataSplit module's declaration."""
