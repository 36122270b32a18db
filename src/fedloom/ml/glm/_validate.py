"""The validation round of an epoch, at each role (see ``validation`` for the metrics).

After an epoch that ``validation_freqs`` names, each host sends the guest ``x·w`` of its
validation rows (under ``validate``), exactly as it does to predict; the guest scores the rows,
records the metrics and sends hosts and arbiter ``validation_stop``. When training ends the
guest sends ``best_iteration`` (-1 without early stopping); every party then keeps the weights
it had after that epoch. Hosts learn nothing else about the labels or the metrics.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from fedloom.federation import Context
from fedloom.ml.glm._common import (
    HeteroLRModel,
    add_partial_scores,
    best_iteration,
    send_partial_scores,
    validation_stop,
)
from fedloom.ml.glm.params import HeteroLRParam
from fedloom.ml.glm.validation import EarlyStopping, check_metric_names, metric_values

Vector = NDArray[np.float64]


class GuestValidation:
    """The guest's validation rows, metrics and early-stopping state for one fit."""

    def __init__(
        self,
        param: HeteroLRParam,
        kind: str,
        x: Vector,
        y: Vector,
        link: Callable[[Vector], Vector],
        offset: Vector | None = None,
    ) -> None:
        self.param, self.kind, self.x, self.y, self.link = param, kind, x, y, link
        self.offset = offset
        self.metrics = check_metric_names(kind, list(param.metrics))
        self.stopper = EarlyStopping(
            self.metrics, param.early_stopping_rounds, param.use_first_metric_only
        )

    @property
    def rows(self) -> int:
        """The number of validation rows."""
        return int(self.x.shape[0])

    def run(self, ctx: Context, epoch: int, coef: Vector, intercept: bool) -> bool:
        """Score the validation rows with ``coef`` and the hosts' partial scores; True to stop."""
        width = self.x.shape[1]
        z = self.x @ coef[:width] + (float(coef[-1]) if intercept else 0.0)
        if self.offset is not None:
            z = z + self.offset
        predicted = self.link(add_partial_scores(ctx.sub("validate"), z))
        values = metric_values(self.kind, self.metrics, self.y, predicted, self.param.threshold)
        stop = self.stopper.record(epoch, values)
        ctx.hosts.put("validation_stop", stop)
        ctx.arbiter.put("validation_stop", stop)
        return stop

    def finish(
        self, ctx: Context, model: HeteroLRModel, snapshots: dict[int, Vector], coef: Vector
    ) -> Vector:
        """Announce the best epoch, record the history; the weights the model keeps."""
        best = self.stopper.best_iteration if self.param.early_stopping_rounds else -1
        ctx.hosts.put("best_iteration", best)
        ctx.arbiter.put("best_iteration", best)
        model.validation = [dict(v) for v in self.stopper.history]
        model.best_iteration = best
        return snapshots[best].copy() if best >= 0 else coef


class PeerValidation:
    """A host's (or, without rows, the arbiter's) side of the validation rounds of one fit."""

    def __init__(self, param: HeteroLRParam, x: Vector | None) -> None:
        self.param, self.x = param, x
        self.snapshots: dict[int, Vector] = {}

    def run(self, ctx: Context, epoch: int, coef: Vector) -> bool:
        """Send partial scores of the validation rows (hosts); the guest's stop decision."""
        if self.x is not None:
            send_partial_scores(ctx.sub("validate"), self.x, coef)
            if self.param.early_stopping_rounds is not None:
                self.snapshots[epoch] = coef.copy()
        return validation_stop(ctx)

    def finish(self, ctx: Context, model: HeteroLRModel, coef: Vector) -> Vector:
        """The guest's best epoch, recorded in ``model``; the weights to keep."""
        best = best_iteration(ctx)
        model.best_iteration = best
        if best < 0:
            return coef
        if best not in self.snapshots and self.x is not None:
            raise ValueError(f"the guest chose epoch {best}, which was not validated here")
        return self.snapshots[best].copy() if self.x is not None else coef
