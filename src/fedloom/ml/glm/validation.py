"""Validation during training at the guest: scalar metrics per validation and early stopping.

Early stopping follows FATE's ``ValidationStrategy``: every tracked metric (only the first with
``use_first_metric_only``) counts the validations since it last improved; training stops once
any of them reaches ``early_stopping_rounds``. The best iteration is the validation where the
first metric was best; the model then keeps that iteration's weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from fedloom.ml.evaluation import auc, confusion_at, ks

Vector = NDArray[np.float64]

SCALAR_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("auc", "ks", "accuracy", "precision", "recall", "f1_score"),
    "regression": (
        "root_mean_squared_error",
        "mean_absolute_error",
        "mean_squared_error",
        "median_absolute_error",
        "r2_score",
        "explained_variance",
    ),
}
"""Metrics validation can track, per kind of model."""
LOWER_IS_BETTER = frozenset(
    {
        "root_mean_squared_error",
        "mean_absolute_error",
        "mean_squared_error",
        "median_absolute_error",
    }
)
"""Error metrics: smaller values are better."""


def check_metric_names(kind: str, names: list[str]) -> list[str]:
    """``names`` if each is a scalar ``kind`` metric; a ValueError naming the first that is not."""
    allowed = SCALAR_METRICS[kind]
    if not names:
        raise ValueError("validation needs at least one metric")
    for name in names:
        if name not in allowed:
            raise ValueError(
                f"validation metric {name!r} is not a scalar {kind} metric "
                f"({', '.join(allowed)}); curves and tables are reported by Evaluation"
            )
    return names


def metric_values(
    kind: str, names: list[str], y: Vector, predicted: Vector, threshold: float = 0.5
) -> dict[str, float | None]:
    """The ``names`` metrics of ``predicted`` (probabilities or values) against ``y``."""
    out: dict[str, float | None] = {}
    one_class = kind == "binary" and np.unique(y).size < 2
    errors = y - predicted
    for name in names:
        if name in ("auc", "ks") and one_class:
            out[name] = None  # undefined on rows of one class (a one-vs-rest class absent)
        elif name == "auc":
            out[name] = auc(y, predicted)
        elif name == "ks":
            out[name] = ks(y, predicted)
        elif name in ("accuracy", "precision", "recall", "f1_score"):
            confusion = confusion_at(y, predicted, threshold)
            out[name] = float(getattr(confusion, "f1" if name == "f1_score" else name))
        elif name == "root_mean_squared_error":
            out[name] = float(np.sqrt(np.mean(errors**2)))
        elif name == "mean_squared_error":
            out[name] = float(np.mean(errors**2))
        elif name == "mean_absolute_error":
            out[name] = float(np.mean(np.abs(errors)))
        elif name == "median_absolute_error":
            out[name] = float(np.median(np.abs(errors)))
        elif name == "r2_score":
            total = float(np.sum((y - y.mean()) ** 2))
            out[name] = 1.0 - float(np.sum(errors**2)) / total if total > 0 else 0.0
        elif name == "explained_variance":
            spread = float(np.var(y))
            out[name] = 1.0 - float(np.var(errors)) / spread if spread > 0 else 0.0
        else:
            raise ValueError(f"unknown validation metric {name!r}")
    return out


@dataclass
class EarlyStopping:
    """FATE's early-stopping bookkeeping over the validations of one fit."""

    metrics: list[str]
    rounds: int | None
    first_only: bool = False
    history: list[dict[str, float | None]] = field(default_factory=list)
    best_iteration: int = -1
    _best: dict[str, float] = field(default_factory=dict)
    _stale: dict[str, int] = field(default_factory=dict)

    def record(self, iteration: int, values: dict[str, float | None]) -> bool:
        """Record one validation's metric values; True when training should stop. An
        undefined value (None) counts as no improvement."""
        self.history.append({"iteration": iteration, **values})
        tracked = self.metrics[:1] if self.first_only else self.metrics
        for name in tracked:
            value = values[name]
            best = self._best.get(name)
            if value is not None and (
                best is None or (value < best if name in LOWER_IS_BETTER else value > best)
            ):
                self._best[name] = value
                self._stale[name] = 0
                if name == self.metrics[0]:
                    self.best_iteration = iteration
            else:
                self._stale[name] = self._stale.get(name, 0) + 1
        if self.rounds is None:
            return False
        return any(self._stale[name] >= self.rounds for name in tracked)
