"""HeteroLinR: vertical linear regression (guest, hosts, arbiter) — train or predict.

Same inputs, modes, model files and prediction table as HeteroLR (:mod:`._glm`): the guest
holds the (finite, real-valued) targets; ``predict_result`` and ``predict_score`` are both the
predicted value, ``predict_detail`` is ``{"label": value}``. Metrics are FATE's regression
metrics (root_mean_squared_error, mean_absolute_error, r2_score, ...).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, StrictInt, StrictStr

from fedloom.components._glm import (
    GlmSpec,
)
from fedloom.components._glm_param import GlmParam
from fedloom.components.base import (
    ComponentError,
    TaskCall,
)
from fedloom.data import Table
from fedloom.ml.hetero_linr import HeteroLinRArbiter, HeteroLinRGuest, HeteroLinRHost


class LinearParam(GlmParam):
    """FATE's HeteroLinR parameters (FATE 1.x ``LinearParam``): the shared linear-model options
    with FATE's LinR defaults (sgd, 20 iterations, regression metrics)."""

    metric_kind: ClassVar[str] = "regression"
    optimizer: StrictStr = "sgd"
    max_iter: StrictInt = Field(default=20, ge=1)


def regression_labels(call: TaskCall, table: Table) -> tuple[NDArray[np.float64], list[str]]:
    """The guest's targets (finite numbers); no classes."""
    if table.labels is None:
        raise ComponentError(
            f"{call.module} at the guest needs labels: set with_label true in the guest's "
            "DataTransform"
        )
    bad = np.flatnonzero(~np.isfinite(table.labels))
    if bad.size:
        row = int(bad[0])
        raise ComponentError(
            f"{call.module} needs finite labels; the label of id {table.ids[row]!r} "
            f"(row {row + 1}) is {table.labels[row]}"
        )
    return table.labels, []


SPEC = GlmSpec(
    module="HeteroLinR",
    kind="regression",
    param_model=LinearParam,
    guest=HeteroLinRGuest,
    host=HeteroLinRHost,
    arbiter=HeteroLinRArbiter,
    labels=regression_labels,
)


HETERO_LINR = SPEC.declaration()
"""The HeteroLinR module's declaration."""
