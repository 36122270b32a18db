"""FederatedSample: down- or upsample the aligned rows, the same rows at every party.

The guest draws (:func:`fedloom.ml.sampling.draw_sample`): ``random`` mode draws
``round(n·fraction)`` rows, ``stratified`` mode ``round(n_c·fraction_c)`` rows of each label
value ``c``; ``downsample`` draws distinct rows, ``upsample`` draws with replacement. Each
host sends a digest of its id set and, when it equals the guest's, receives the drawn
positions in the shared sorted-id order (as FATE sends the sampled ids). The host checks them
against the parameters (random mode: the exact count; stratified: no more than
``n·max fraction`` rows; downsample: no row twice). After Intersection the parties hold
exactly these ids, so a host learns which of its rows were drawn (and, stratified, how many
rows were drawn in all) and nothing else.

Output ``data``: the drawn rows in sorted-id order. An upsampled row drawn k > 1 times keeps
its id once and appears as ``<id>_1`` ... ``<id>_<k-1>`` for the other copies, identically
at every party. No model (FATE's FederatedSample has none; not replayed in predict jobs).
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
from fedloom.components.federated_sample_param import SampleParam
from fedloom.components.io import load_table_with_meta, save_table
from fedloom.data import Table
from fedloom.federation import FederationError
from fedloom.ml.sampling import PartRules, draw_sample, follow_parts, share_parts, sorted_order

__all__ = ["FEDERATED_SAMPLE", "SampleParam", "run_federated_sample"]


def run_federated_sample(call: TaskCall) -> TaskResult:
    """FederatedSample at the guest (draws) or a host (follows): input ``data`` → ``data``."""
    param = call.params
    assert isinstance(param, SampleParam)
    table, _ = load_table_with_meta(call.input("data", "data", "the rows to sample").path)
    if not param.need_run:
        out = save_table(call.output_dir / "data.npz", table, {"source": call.module})
        return TaskResult(data={"data": out}, metrics={"need_run": False})
    ids = list(table.ids)
    if len(set(ids)) != len(ids):
        raise ComponentError(f"{call.module}: the {call.role}'s table has duplicate ids")
    order = sorted_order(ids)
    rates = param.rates()
    upsample = param.method == "upsample"
    ctx = call.ctx.sub("sample")
    try:
        if call.role == "guest":
            labels = None if table.labels is None else table.labels[order]
            if isinstance(rates, dict) and labels is None:
                raise ValueError("stratified sampling needs the guest's labels")
            rng = np.random.default_rng(param.random_state)
            picked = draw_sample(len(ids), rates, upsample, rng, labels)
            share_parts(ctx, ids, [picked])
        else:
            picked = follow_parts(ctx, ids, _rules(len(ids), rates, upsample))[0]
    except (ValueError, FederationError) as exc:
        raise ComponentError(f"{call.module} at the {call.role}: {exc}") from None
    result = _copies(call, table.take(order[picked]))
    out = save_table(call.output_dir / "data.npz", result, {"source": call.module})
    metrics: dict[str, Any] = {"count": len(result), "input_count": len(ids)}
    return TaskResult(data={"data": out}, metrics=metrics)


def _rules(rows: int, rates: float | dict[float, float], upsample: bool) -> PartRules:
    """What a host accepts: the exact count of a random draw, a bound for a stratified one."""
    if isinstance(rates, float):
        return PartRules(1, distinct=not upsample, sizes=(round(rows * rates),))
    most = max(rates.values())
    return PartRules(1, distinct=not upsample, max_rows=int(np.ceil(rows * most)) + len(rates))


def _copies(call: TaskCall, table: Table) -> Table:
    """``table`` with repeated ids renamed ``<id>_1``, ``<id>_2``... (upsampling)."""
    ids = list(table.ids)
    taken = set(ids)
    seen: dict[str, int] = {}
    for i, sample_id in enumerate(ids):
        copy = seen.get(sample_id, 0)
        seen[sample_id] = copy + 1
        if copy:
            new = f"{sample_id}_{copy}"
            if new in taken:
                raise ComponentError(f"{call.module}: the id {new!r} of a copy is taken")
            taken.add(new)
            ids[i] = new
    return Table(ids, list(table.header), table.features, table.labels, table.weights)


FEDERATED_SAMPLE = ComponentDef(
    module="FederatedSample",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=SampleParam,
    runners=same_runner(run_federated_sample, PARTIES),
    data_inputs={"data": (1, 1)},
    outputs=frozenset({"data"}),
    consistent_params=("mode", "method", "fractions", "random_state", "task_type", "need_run"),
    need_deploy=False,
)
"""The FederatedSample module's declaration."""
