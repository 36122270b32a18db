"""The guest's prediction table of a GLM module, with FATE's columns.

The table (``fedloom.components.io`` format) has the ids, the labels (when the input had
them) and two numeric columns, ``predict_result`` and ``predict_score``. FATE's other two
columns are in the table meta, so that they are not mistaken for numeric features:

- ``meta["type"]``: ``"train"`` (a training task scoring its training rows) or ``"test"``
  (a task predicting with a model input);
- ``meta["predict_detail"]``: one JSON string per row, in row order, as FATE writes it:
  ``{"0": p0, "1": p1}`` for binary LR, ``{"<class>": score, ...}`` for one-vs-rest,
  ``{"label": value}`` for regression;
- ``meta["columns"]``: FATE's column order ``id, label, predict_result, predict_score,
  predict_detail, type`` (no ``label`` when the rows had none) for exporters that render the
  full FATE table (the flow's CSV export does).

``predict_result`` is the class (score ≥ ``predict_param.threshold`` for binary, the class of
the highest score for one-vs-rest) or the predicted value (regression); ``predict_score`` is
the class-1 probability, the winning class's score, or the predicted value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fedloom.components.base import TaskCall
from fedloom.components.evaluation import binary_metrics, normalise_metrics, regression_metrics
from fedloom.components.io import save_table
from fedloom.data import Table
from fedloom.ml.evaluation import multiclass_metrics

Vector = NDArray[np.float64]
PREDICTION_HEADER = ["predict_result", "predict_score"]
FATE_COLUMNS = ["id", "label", "predict_result", "predict_score", "predict_detail", "type"]


def prediction_output(
    kind: str,
    call: TaskCall,
    table: Table,
    labels: Vector | None,
    scores: list[Vector],
    classes: list[str],
    data_type: str,
    extra_meta: dict[str, Any] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write the prediction table of ``scores`` (one vector per sub-model); its metrics
    (``{data_type: {...}}`` when there are labels)."""
    param: Any = call.params
    meta: dict[str, Any] = {"source": call.module, "producer": call.ctx.namespace}
    results, score, details = _columns(kind, param, scores, classes)
    if kind == "binary" and len(scores) == 1:
        meta["threshold"] = float(param.predict_param.threshold)
    if len(scores) > 1:
        meta["classes"] = list(classes)
    metrics: dict[str, Any] = {}
    values = score_metrics(kind, param, labels, scores, classes)
    if values is not None:
        metrics[data_type] = values
    predictions = Table(
        list(table.ids), list(PREDICTION_HEADER), np.column_stack([results, score]), labels
    )
    columns = [c for c in FATE_COLUMNS if c != "label" or labels is not None]
    meta.update(type=data_type, columns=columns, predict_detail=details, **(extra_meta or {}))
    return save_table(call.output_dir / "data.npz", predictions, meta), metrics


def score_metrics(
    kind: str, param: Any, labels: Vector | None, scores: list[Vector], classes: list[str]
) -> dict[str, Any] | None:
    """The metrics of ``scores`` against ``labels`` (None without labels or, for binary
    metrics, with one class only)."""
    if labels is None:
        return None
    if kind == "regression":
        return regression_metrics(labels, scores[0], normalise_metrics(param.metrics, "regression"))
    if len(scores) == 1:
        if np.any((labels != 0) & (labels != 1)) or not 0 < labels.sum() < labels.size:
            return None  # binary metrics need labels 0/1 of both classes
        names = normalise_metrics(param.metrics, "binary")
        return binary_metrics(labels, scores[0], names, float(param.predict_param.threshold))
    return multiclass_metrics(labels, _columns(kind, param, scores, classes)[0])


def _columns(
    kind: str, param: Any, scores: list[Vector], classes: list[str]
) -> tuple[Vector, Vector, list[str]]:
    """``predict_result``, ``predict_score`` and ``predict_detail`` of each row."""
    if kind == "regression":
        return scores[0], scores[0], [json.dumps({"label": float(v)}) for v in scores[0]]
    if len(scores) == 1:
        score = scores[0]
        results = (score >= float(param.predict_param.threshold)).astype(np.float64)
        return results, score, [json.dumps({"0": float(1.0 - p), "1": float(p)}) for p in score]
    stacked = np.column_stack(scores)
    best = np.argmax(stacked, axis=1)
    values = np.asarray([float(c) for c in classes])
    details = [
        json.dumps({c: float(v) for c, v in zip(classes, row, strict=True)})
        for row in stacked.tolist()
    ]
    return values[best], stacked[np.arange(stacked.shape[0]), best], details
