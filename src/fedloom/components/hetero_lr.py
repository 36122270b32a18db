"""HeteroLR: train vertical logistic regression (guest, hosts, arbiter), then score the
training rows.

Outputs per role:

- guest: model (its coefficients with header names, intercept), data (predictions on the
  training rows, FATE's columns: id, label, predict_result, predict_score, type ``train``)
  and metrics (iterations, convergence, training metrics from ``metrics``);
- host: model (its own coefficients only); hosts learn no predictions;
- arbiter: model and metrics with the loss history (when ``early_stop`` uses the loss).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fedloom.components.base import (
    ALL_ROLES,
    ComponentDef,
    ComponentError,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.evaluation import binary_metrics
from fedloom.components.hetero_lr_param import HeteroLogisticParam
from fedloom.components.io import load_table_with_meta, save_model, save_table
from fedloom.data import Table
from fedloom.ml.hetero_lr import HeteroLRArbiter, HeteroLRGuest, HeteroLRHost, HeteroLRModel

PREDICTION_HEADER = ["predict_result", "predict_score"]


def run_hetero_lr(call: TaskCall) -> TaskResult:
    """HeteroLR at any role: fit, then (guest and hosts) score the training rows."""
    param = call.params
    assert isinstance(param, HeteroLogisticParam)
    ml_param = param.to_ml()
    if call.role == "arbiter":
        model = HeteroLRArbiter(ml_param, keygen=call.hooks.keygen).fit(call.ctx)
        summary = {**_summary(model), "loss": [float(v) for v in model.loss_history]}
        document = {"module": "HeteroLR", "role": "arbiter", "party_id": call.party_id, **summary}
        path = save_model(call.output_dir / "model.json", document)
        return TaskResult(model=path, metrics=summary)

    table, _ = load_table_with_meta(
        call.input("train_data", "data", "the aligned rows from Intersection").path
    )
    if not table.header:
        raise ComponentError(f"HeteroLR at the {call.role}: the training table has no features")
    if not len(table):
        raise ComponentError(
            f"HeteroLR at the {call.role}: the training table has no rows (no shared ids?)"
        )
    if call.role == "host":
        host = HeteroLRHost(ml_param)
        model = host.fit(call.ctx, table.features)
        host.predict(call.ctx, table.features, model)
        path = save_model(call.output_dir / "model.json", _document(call, table, model))
        return TaskResult(model=path, metrics=_summary(model))

    labels = _labels(table)
    guest = HeteroLRGuest(ml_param)
    model = guest.fit(call.ctx, table.features, labels)
    scores = guest.predict(call.ctx, table.features, model)
    threshold = float(param.predict_param.threshold)
    results = (scores >= threshold).astype(np.float64)
    predictions = Table(
        list(table.ids), list(PREDICTION_HEADER), np.column_stack([results, scores]), labels
    )
    meta = {
        "source": "HeteroLR",
        "producer": call.ctx.namespace,
        "type": "train",
        "threshold": threshold,
        "columns": ["id", "label", *PREDICTION_HEADER, "type"],
    }
    data = save_table(call.output_dir / "data.npz", predictions, meta)
    document = _document(call, table, model)
    document["threshold"] = threshold
    metrics: dict[str, Any] = _summary(model)
    if 0 < labels.sum() < labels.size:
        metrics["train"] = binary_metrics(labels, scores, list(param.metrics), threshold)
    path = save_model(call.output_dir / "model.json", document)
    return TaskResult(data={"data": data}, model=path, metrics=metrics)


def _labels(table: Table) -> np.ndarray[Any, np.dtype[np.float64]]:
    if table.labels is None:
        raise ComponentError(
            "HeteroLR at the guest needs labels: set with_label true in the guest's DataTransform"
        )
    bad = np.flatnonzero((table.labels != 0) & (table.labels != 1))
    if bad.size:
        row = int(bad[0])
        raise ComponentError(
            f"HeteroLR needs binary labels 0/1; the label of id {table.ids[row]!r} "
            f"(row {row + 1}) is {table.labels[row]}"
        )
    return table.labels


def _summary(model: HeteroLRModel) -> dict[str, Any]:
    return {"n_iter": int(model.n_iter), "converged": bool(model.converged)}


def _document(call: TaskCall, table: Table, model: HeteroLRModel) -> dict[str, Any]:
    """A party's model file: only its own coefficients, by feature name."""
    document: dict[str, Any] = {
        "module": "HeteroLR",
        "role": call.role,
        "party_id": call.party_id,
        "header": list(table.header),
        "weights": [float(w) for w in model.weights],
        **_summary(model),
    }
    if call.role == "guest":
        document["intercept"] = float(model.intercept)
    return document


HETERO_LR = ComponentDef(
    module="HeteroLR",
    roles=ALL_ROLES,
    required_roles=ALL_ROLES,
    param_model=HeteroLogisticParam,
    runners=same_runner(run_hetero_lr, ALL_ROLES),
    data_inputs={"train_data": (1, 1)},
    outputs=frozenset({"data", "model"}),
    # The backend is each party's own choice: keys and ciphertexts are the same on the wire
    # whichever library computes them.
    consistent_params=(
        "max_iter",
        "early_stop",
        "tol",
        "encrypt_param.method",
        "encrypt_param.key_length",
    ),
)
"""The HeteroLR module's declaration."""
