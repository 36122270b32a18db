"""HeteroPoisson: vertical Poisson regression (guest, one host, arbiter) — train or predict.

Same inputs, modes, model files and prediction table as HeteroLR (:mod:`._glm`). The guest
holds the counts (labels ≥ 0). ``exposure_colname`` names a column of the guest's table: it is
taken out of the features, and ``log(exposure)`` is added to every row's linear predictor
(training, validation and prediction alike, so a predict job's guest table needs the column
too); exposures must be positive. The prediction is the expected count
``exposure · exp(z)``; ``predict_result`` and ``predict_score`` are both that value. The
protocol (:mod:`fedloom.ml.glm.family`) has the host send ``[[exp(X_h·w_h)]]``, so it runs
with exactly one host, as FATE's does.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, StrictInt, StrictStr, field_validator

from fedloom.components._glm import (
    GlmSpec,
    params_of,
)
from fedloom.components._glm_param import GlmParam
from fedloom.components.base import (
    ComponentError,
    TaskCall,
)
from fedloom.components.hetero_linr import regression_labels
from fedloom.data import Table
from fedloom.ml.hetero_poisson import HeteroPoissonArbiter, HeteroPoissonGuest, HeteroPoissonHost

Vector = NDArray[np.float64]


class PoissonParam(GlmParam):
    """FATE's HeteroPoisson parameters (FATE 1.x ``PoissonParam``): the shared linear-model
    options with FATE's Poisson defaults, and ``exposure_colname`` (the guest's exposure
    column, or None for exposure 1)."""

    metric_kind: ClassVar[str] = "regression"
    optimizer: StrictStr = "rmsprop"
    max_iter: StrictInt = Field(default=20, ge=1)
    exposure_colname: StrictStr | None = None

    @field_validator("optimizer")
    @classmethod
    def _no_sqn(cls, value: str) -> str:
        if value == "sqn":
            raise ValueError(
                "'sqn' is not supported for HeteroPoisson: its Hessian weighs rows by their "
                "prediction, a product of two encrypted values (fedloom.ml.glm.sqn)"
            )
        return value

    def meta_extra(self) -> dict[str, Any]:
        """FATE's PoissonModelMeta adds the exposure column."""
        return {"exposure_colname": self.exposure_colname}


def _counts(call: TaskCall, table: Table) -> tuple[Vector, list[str]]:
    labels, classes = regression_labels(call, table)
    bad = np.flatnonzero(labels < 0)
    if bad.size:
        row = int(bad[0])
        raise ComponentError(
            f"HeteroPoisson needs counts (labels ≥ 0); the label of id {table.ids[row]!r} "
            f"(row {row + 1}) is {labels[row]}"
        )
    return labels, classes


def _exposure(call: TaskCall, table: Table) -> tuple[Table, Vector | None]:
    """The guest's table without the exposure column, and ``log(exposure)``."""
    name = params_of(call, PoissonParam).exposure_colname
    if name is None:
        return table, None
    if name not in table.header:
        raise ComponentError(
            f"HeteroPoisson: exposure_colname {name!r} is not a column of the guest's table"
        )
    column = table.header.index(name)
    exposure = table.features[:, column]
    bad = np.flatnonzero(~(np.isfinite(exposure) & (exposure > 0)))
    if bad.size:
        row = int(bad[0])
        raise ComponentError(
            f"HeteroPoisson: the exposure of id {table.ids[row]!r} (row {row + 1}) is "
            f"{exposure[row]}; exposures must be positive"
        )
    keep = [i for i in range(len(table.header)) if i != column]
    rest = Table(
        list(table.ids),
        [table.header[i] for i in keep],
        table.features[:, keep],
        table.labels,
        table.weights,
    )
    return rest, np.log(exposure)


SPEC = GlmSpec(
    module="HeteroPoisson",
    kind="regression",
    param_model=PoissonParam,
    guest=HeteroPoissonGuest,
    host=HeteroPoissonHost,
    arbiter=HeteroPoissonArbiter,
    labels=_counts,
    guest_table=_exposure,
)


HETERO_POISSON = SPEC.declaration()
"""The HeteroPoisson module's declaration."""
