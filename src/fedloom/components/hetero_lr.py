"""HeteroLR: vertical logistic regression (guest, hosts, arbiter) — train or predict.

Inputs and modes (see :mod:`._glm`): ``train_data`` (+ ``validate_data``) trains, a ``model``
input with ``train_data`` continues training it (warm start), a ``model`` input with
``test_data`` (or ``data``) predicts. Labels with more than two classes train one-vs-rest:
one binary model per class, every party training each in turn.

Outputs per role:

- guest: model (its weights by feature name and the intercept, FATE's ``model_meta`` /
  ``model_param`` — :mod:`._glm_model`), data (predictions, FATE's columns —
  :mod:`._glm_output`) and metrics (iterations, convergence, ``train`` metrics, and with
  validation ``validate``: one dict of metrics per validated epoch, and ``best_iteration``);
- host: model (its own weights only); hosts learn no predictions;
- arbiter: model and metrics with the loss history (when ``early_stop`` uses the loss).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from fedloom.components._glm import (
    CONSISTENT_PARAMS,
    DATA_INPUTS,
    MODEL_INPUTS,
    GlmSpec,
    params_of,
    run_glm,
)
from fedloom.components.base import (
    ALL_ROLES,
    ComponentDef,
    ComponentError,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.hetero_lr_param import HeteroLogisticParam
from fedloom.data import Table
from fedloom.ml.hetero_lr import HeteroLRArbiter, HeteroLRGuest, HeteroLRHost


def _labels(call: TaskCall, table: Table) -> tuple[NDArray[np.float64], list[str]]:
    """The guest's labels and classes: ``["0", "1"]`` for binary, sorted values for ovr."""
    if table.labels is None:
        raise ComponentError(
            "HeteroLR at the guest needs labels: set with_label true in the guest's DataTransform"
        )
    values = np.unique(table.labels)
    if values.size > 2:
        return table.labels, [_class_name(v) for v in values.tolist()]
    bad = np.flatnonzero((table.labels != 0) & (table.labels != 1))
    if bad.size:
        row = int(bad[0])
        raise ComponentError(
            f"HeteroLR needs binary labels 0/1 (or more than two classes for one-vs-rest); "
            f"the label of id {table.ids[row]!r} (row {row + 1}) is {table.labels[row]}"
        )
    return table.labels, ["0", "1"]


def _class_name(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _ml(call: TaskCall) -> Any:
    return params_of(call, HeteroLogisticParam).to_ml()


SPEC = GlmSpec(
    module="HeteroLR",
    kind="binary",
    guest=lambda call: HeteroLRGuest(_ml(call)),
    host=lambda call: HeteroLRHost(_ml(call)),
    arbiter=lambda call: HeteroLRArbiter(_ml(call), keygen=call.hooks.keygen),
    labels=_labels,
)


def run_hetero_lr(call: TaskCall) -> TaskResult:
    """HeteroLR at any role: train (from scratch or warm), or predict with a model input."""
    return run_glm(SPEC, call)


HETERO_LR = ComponentDef(
    module="HeteroLR",
    roles=ALL_ROLES,
    required_roles=ALL_ROLES,
    param_model=HeteroLogisticParam,
    runners=same_runner(run_hetero_lr, ALL_ROLES),
    data_inputs=DATA_INPUTS,
    model_inputs=MODEL_INPUTS,
    outputs=frozenset({"data", "model"}),
    consistent_params=CONSISTENT_PARAMS,
)
"""The HeteroLR module's declaration."""
