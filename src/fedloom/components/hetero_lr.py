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

import numpy as np
from numpy.typing import NDArray

from fedloom.components._glm import (
    GlmSpec,
)
from fedloom.components.base import (
    ComponentError,
    TaskCall,
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


SPEC = GlmSpec(
    module="HeteroLR",
    kind="binary",
    param_model=HeteroLogisticParam,
    guest=HeteroLRGuest,
    host=HeteroLRHost,
    arbiter=HeteroLRArbiter,
    labels=_labels,
)


HETERO_LR = SPEC.declaration()
"""The HeteroLR module's declaration."""
