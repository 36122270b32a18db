"""HeteroFeatureSelection: FATE's filters, run in ``filter_methods`` order, over the columns
chosen by ``select_col_indexes`` / ``select_names`` (other columns pass untouched).

Local filters (each party over its own columns, with its own parameters): ``unique_value``,
``percentage_value``, ``manually``, ``statistic_filter`` (a DataStatistics model),
``vif_filter`` (a HeteroPearson model's ``local_vif``), ``psi_filter`` (a PSI model),
``coefficient_of_variation_value_thres`` and ``outlier_cols``. Federated filters (the guest
decides for the hosts when ``select_federated`` / not ``local_only``): ``iv_filter``,
``iv_value_thres``, ``iv_percentile``, ``iv_top_k`` (a HeteroFeatureBinning model: the guest's
IV of host features) and ``correlation_filter`` (a HeteroPearson model + the binning IVs).
For those, each host sends the positions of its columns still in play and receives the
positions it keeps: the guest learns positions, never names or values; a host learns only its
own choice. Without federation a host keeps its columns through an IV / correlation filter
(it has no IV).

Input ``model`` (a selection model; predict jobs) instead of ``isometric_model``: the model's
choice is replayed on the data, by column name, with no message to any peer.

The model keeps FATE's FeatureSelection names::

    {"module": "HeteroFeatureSelection", "role", "party_id", "model_meta": {parameters},
     "model_param": {"header": [input columns], "col_names": [selected columns],
        "results": [{"filter_name", "feature_values": {column: value},
                     "left_cols": {"original_cols": [...], "left_cols": {column: bool}},
                     guest, federated only: "host_feature_values": [{"party_id",
                     "feature_values": {"host_<id>_<pos>": value}}], "host_left_cols":
                     [{"party_id", "original_cols": [...], "left_cols": {...}}]}, ...],
        "final_left_cols": {"original_cols": [...], "left_cols": {column: bool}},
        guest only: "host_col_names": [{"party_id", "col_names": [...]}]}}
"""

from __future__ import annotations

from typing import Any

from fedloom.components.base import (
    PARTIES,
    ComponentDef,
    ComponentError,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.data_statistics import selected_columns
from fedloom.components.hetero_feature_selection_filters import (
    IV_FILTERS,
    Result,
    SelectionRun,
)
from fedloom.components.hetero_feature_selection_inputs import load_isometric
from fedloom.components.hetero_feature_selection_param import FeatureSelectionParam
from fedloom.components.io import (
    json_safe,
    load_model,
    load_table_with_meta,
    save_model,
    save_table,
)
from fedloom.data import Table
from fedloom.ml.feature_selection import SelectionError

__all__ = ["HETERO_FEATURE_SELECTION", "FeatureSelectionParam", "run_hetero_feature_selection"]


def run_hetero_feature_selection(call: TaskCall) -> TaskResult:
    """HeteroFeatureSelection at the guest or a host: fit with ``isometric_model`` inputs, or
    replay a selection ``model``."""
    param = call.params
    assert isinstance(param, FeatureSelectionParam)
    table, _ = load_table_with_meta(call.input("data", "data", "the table to select from").path)
    if not param.need_run:
        out = save_table(call.output_dir / "data.npz", table, {"source": "HeteroFeatureSelection"})
        return TaskResult(data={"data": out}, metrics={"need_run": False})
    trained = call.inputs.get("model")
    if trained is not None:
        if any(k.startswith("isometric_model") for k in call.inputs):
            raise ComponentError(
                "HeteroFeatureSelection fits with isometric models or replays a model, not both"
            )
        model = load_model(call.input("model", "model", "a selection model").path)
        return _save(call, table, _final(model), None)
    header = list(table.header)
    chosen = selected_columns(header, param.select_col_indexes, param.select_names, call.module)
    run = SelectionRun(call, table, load_isometric(call), [header[k] for k in chosen])
    results: list[Result] = []
    try:
        for k, method in enumerate(param.filter_methods):
            ctx = call.ctx.sub(f"filter-{k}")
            if method in IV_FILTERS:
                results.append(run.iv_filter(method, ctx))
            elif method == "correlation_filter":
                results.append(run.correlation(ctx))
            else:
                results.append(getattr(run, method)())
    except SelectionError as exc:
        raise ComponentError(f"HeteroFeatureSelection: {exc}") from exc
    selected = [header[k] for k in chosen]
    final = {n: n in set(run.left) for n in selected}
    model_param: dict[str, Any] = {
        "header": header,
        "col_names": selected,
        "results": results,
        "final_left_cols": {"original_cols": selected, "left_cols": final},
    }
    if call.role == "guest" and run.host_names:
        model_param["host_col_names"] = [
            {"party_id": pid, "col_names": [f"host_{pid}_{k}" for k in sorted(pos)]}
            for pid, pos in sorted(run.host_names.items())
        ]
    document = {
        "module": "HeteroFeatureSelection",
        "role": call.role,
        "party_id": call.party_id,
        "model_meta": param.model_dump(),
        "model_param": model_param,
    }
    return _save(call, table, final, document)


def _final(model: dict[str, Any]) -> dict[str, bool]:
    try:
        final = model["model_param"]["final_left_cols"]["left_cols"]
    except (KeyError, TypeError):
        raise ComponentError("the model input is not a HeteroFeatureSelection model") from None
    if not isinstance(final, dict) or not all(isinstance(v, bool) for v in final.values()):
        raise ComponentError("the selection model's final_left_cols are malformed")
    return {str(k): v for k, v in final.items()}


def _save(
    call: TaskCall, table: Table, final: dict[str, bool], document: dict[str, Any] | None
) -> TaskResult:
    absent = [n for n, kept in final.items() if kept and n not in table.header]
    if absent:
        raise ComponentError(f"HeteroFeatureSelection: the table has no column {absent[0]!r}")
    columns = [k for k, n in enumerate(table.header) if final.get(n, True)]
    out_table = Table(
        list(table.ids),
        [table.header[k] for k in columns],
        table.features[:, columns],
        table.labels,
        table.weights,
    )
    out = save_table(call.output_dir / "data.npz", out_table, {"source": "HeteroFeatureSelection"})
    left = sum(final.values())
    metrics = {"left_cols": left, "filtered_cols": len(final) - left}
    if document is None:
        return TaskResult(data={"data": out}, metrics=metrics)
    model = save_model(call.output_dir / "model.json", json_safe(document))
    return TaskResult(data={"data": out}, model=model, metrics=metrics)


HETERO_FEATURE_SELECTION = ComponentDef(
    module="HeteroFeatureSelection",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=FeatureSelectionParam,
    runners=same_runner(run_hetero_feature_selection, PARTIES),
    data_inputs={"data": (1, 1)},
    model_inputs={"isometric_model": (0, 8), "model": (0, 1)},
    outputs=frozenset({"data", "model"}),
    consistent_params=(
        "filter_methods",
        "need_run",
        "iv_param.select_federated",
        "iv_value_param.local_only",
        "iv_percentile_param.local_only",
        "iv_top_k_param.local_only",
        "correlation_param.select_federated",
    ),
)
"""The HeteroFeatureSelection module's declaration."""
