"""HeteroPearson: Pearson correlation of the guest's columns with one host's (FATE's
PearsonParam), plus each party's local correlations and VIF.

Protocol and what each party learns: :mod:`fedloom.ml.pearson` (the host's Paillier key; the
guest sees only ciphertexts of the host's standardised columns, the host only masked products;
both learn the cross correlation matrix, as in FATE, and the other party's column positions,
never its names or values). Like FATE's it runs between the guest and exactly one host.

The output data is the input table (with a ``model`` input, as in a predict job that deploys
it, that is all it does and nothing is exchanged; it is not deployed by default). The model
keeps FATE's PearsonModelParam names, each party's from its own side ("local" = this party)::

    {"module": "HeteroPearson", "role": ..., "party_id": ...,
     "model_meta": {"column_names", "column_indexes", "cross_parties", "need_run",
                    "use_mix_rand", "calc_local_vif"},
     "model_param": {"party": "(guest,9999)", "parties": ["(guest,9999)", "(host,10000)"],
                     "shapes": [local columns, remote columns],
                     "names": [{"names": local names}, {"names": remote anonymous names}],
                     "corr": row-major local × remote correlations,
                     "local_corr": row-major local × local correlations,
                     "local_vif": one per local column (when calc_local_vif)}}

A remote column is named ``<role>_<party id>_<column position in its table>`` (e.g.
``host_10000_3``, as HeteroFeatureBinning names host features). With ``cross_parties`` false,
``parties`` / ``shapes`` / ``names`` list the local party only and ``corr`` is empty.
Undefined correlations (a constant column) are ``null``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from pydantic import StrictBool, StrictInt, StrictStr, field_validator

from fedloom.components.base import (
    PARTIES,
    ComponentDef,
    ComponentError,
    FateParam,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.data_statistics import selected_columns
from fedloom.components.io import json_safe, load_table_with_meta, save_model, save_table
from fedloom.ml.pearson import HeteroPearsonGuest, HeteroPearsonHost, PearsonError

__all__ = ["HETERO_PEARSON", "PearsonParam", "run_hetero_pearson"]


class PearsonParam(FateParam):
    """FATE's PearsonParam."""

    column_names: list[StrictStr] | None = None
    column_indexes: StrictInt | list[StrictInt] | None = None
    cross_parties: StrictBool = True
    need_run: StrictBool = True
    use_mix_rand: StrictBool = False
    calc_local_vif: StrictBool = True

    only_default: ClassVar[Mapping[str, str]] = {
        "use_mix_rand": "fedloom draws every encryption's randomness from the system's secure "
        "generator; mixing in a faster pseudo-random generator is not offered",
    }

    @field_validator("column_indexes")
    @classmethod
    def _indexes(cls, value: int | list[int] | None) -> int | list[int] | None:
        if isinstance(value, int) and value != -1:
            raise ValueError("column_indexes is -1 (all columns) or a list of positions")
        if isinstance(value, list) and any(v < 0 for v in value):
            raise ValueError("column_indexes are 0-based positions")
        return value


def run_hetero_pearson(call: TaskCall) -> TaskResult:
    """HeteroPearson at the guest or the host: ``data`` → the same data + the model."""
    param = call.params
    assert isinstance(param, PearsonParam)
    key = "train_data" if "train_data" in call.inputs else "data"
    table, _ = load_table_with_meta(call.input(key, "data", "the table to correlate").path)
    out = save_table(call.output_dir / "data.npz", table, {"source": "HeteroPearson"})
    if not param.need_run:
        return TaskResult(data={"data": out}, metrics={"need_run": False})
    if "model" in call.inputs:
        # A predict job that deploys this analysis: the data passes through, nothing is sent.
        call.input("model", "model", "this module's model")
        return TaskResult(data={"data": out})
    hosts = call.ctx.parties.hosts
    if param.cross_parties and len(hosts) != 1:
        raise ComponentError(
            f"HeteroPearson correlates the guest with exactly one host (as FATE's); the job "
            f"has {len(hosts)}"
        )
    header = list(table.header)
    indexes: int | list[int] | None = param.column_indexes
    if indexes is None and not param.column_names:
        indexes = -1  # nothing chosen: every column
    columns = selected_columns(header, indexes, param.column_names, call.module)
    if not columns:
        raise ComponentError("HeteroPearson: no columns selected")
    x = table.features[:, columns]
    if not np.all(np.isfinite(x)):
        raise ComponentError(
            "HeteroPearson needs a value in every selected cell: impute missing values first"
        )
    try:
        if call.role == "guest":
            guest = HeteroPearsonGuest(
                cross_parties=param.cross_parties, calc_local_vif=param.calc_local_vif
            )
            result = guest.fit(call.ctx, x, columns)
        else:
            host = HeteroPearsonHost(
                cross_parties=param.cross_parties,
                calc_local_vif=param.calc_local_vif,
                keygen=call.hooks.keygen,
            )
            result = host.fit(call.ctx, x, columns)
    except (PearsonError, ValueError) as exc:
        raise ComponentError(f"HeteroPearson: {exc}") from exc
    local = f"({call.role},{call.party_id})"
    parties, shapes = [local], [len(columns)]
    names: list[dict[str, list[str]]] = [{"names": [header[k] for k in columns]}]
    if result.corr is not None:
        other = hosts[0] if call.role == "guest" else call.ctx.parties.guest
        assert other is not None
        parties.append(f"({other.role},{other.party_id})")
        shapes.append(len(result.remote_columns))
        names.append(
            {"names": [f"{other.role}_{other.party_id}_{k}" for k in result.remote_columns]}
        )
    param_doc: dict[str, Any] = {
        "party": local,
        "parties": parties,
        "shapes": shapes,
        "names": names,
        "corr": [] if result.corr is None else result.corr.reshape(-1),
        "local_corr": result.local_corr.reshape(-1),
    }
    if result.local_vif is not None:
        param_doc["local_vif"] = result.local_vif
    document = {
        "module": "HeteroPearson",
        "role": call.role,
        "party_id": call.party_id,
        "model_meta": param.model_dump(),
        "model_param": param_doc,
    }
    model = save_model(call.output_dir / "model.json", json_safe(document))
    return TaskResult(data={"data": out}, model=model)


HETERO_PEARSON = ComponentDef(
    module="HeteroPearson",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=PearsonParam,
    runners=same_runner(run_hetero_pearson, PARTIES),
    # FATE's Pearson job files read the table as train_data; data works as well.
    data_inputs={"train_data": (0, 1), "data": (0, 1)},
    model_inputs={"model": (0, 1)},
    outputs=frozenset({"data", "model"}),
    need_deploy=False,
    consistent_params=("cross_parties", "need_run"),
)
"""The HeteroPearson module's declaration."""
