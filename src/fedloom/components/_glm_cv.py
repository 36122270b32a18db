"""Cross validation of a GLM module (``cv_param.need_cv``), as FATE runs it.

The guest splits the aligned ``train_data`` rows into ``n_splits`` folds
(:func:`fedloom.ml.glm.cv.kfold`: ``shuffle`` with ``random_seed``) and sends the hosts the
row positions of each fold — never labels. For each fold every party trains from scratch on
the other folds (``validation_freqs`` validates on the held-out fold) and the guest scores the
held-out rows with the hosts' partial scores.

Outputs, following FATE: **no model**. The guest's data output holds the out-of-fold
predictions — every row once, scored by the model that did not train on it — with FATE's
prediction columns (:mod:`._glm_output`), ``meta["type"] = "validate"`` and
``meta["fold"]`` (each row's fold, in row order); with ``history_value_type: instance`` it
holds the rows themselves (features and label) with their fold instead. Metrics:
``cv.folds`` (per fold: ``fold``, ``n_iter``, ``validate`` metrics and, with
``output_fold_history``, the fold's ``train`` metrics) and ``cv.mean`` (the mean of each
scalar metric over the folds).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from fedloom.components._glm_output import prediction_output, score_metrics
from fedloom.components.base import ComponentError, TaskCall, TaskResult
from fedloom.components.io import save_table
from fedloom.data import Table
from fedloom.ml.glm import announce_task
from fedloom.ml.glm.cv import kfold, receive_folds, send_folds, train_rows

if TYPE_CHECKING:
    from fedloom.components._glm import GlmSpec

Vector = NDArray[np.float64]


def check_cv_inputs(call: TaskCall) -> None:
    """Cross validation reads ``train_data`` only."""
    extra = sorted(set(call.inputs) & {"model", "validate_data", "test_data", "data"})
    if extra:
        raise ComponentError(
            f"{call.module} cross validation (cv_param.need_cv) trains from scratch on "
            f"train_data and validates on its folds; drop the inputs {extra}"
        )


def guest_cv(
    spec: GlmSpec, call: TaskCall, table: Table, offset: Vector | None, labels: Vector
) -> TaskResult:
    """The guest's cross validation: folds, one fit per fold, out-of-fold predictions."""
    param: Any = call.params
    cv = param.cv_param
    rows = len(table.ids)
    x = table.features
    shift = np.zeros(rows) if offset is None else offset
    try:
        folds = kfold(rows, cv.n_splits, cv.shuffle, cv.random_seed)
    except ValueError as exc:
        raise ComponentError(f"{call.module}: {exc}") from None
    announce_task(call.ctx, "cv", len(folds))
    send_folds(call.ctx, folds)
    validates = param.to_ml().validation_freqs is not None
    predicted, fold_of = np.zeros(rows), np.zeros(rows, dtype=np.int64)
    history: list[dict[str, Any]] = []
    for k, held_out in enumerate(folds):
        ctx, kept = call.ctx.sub(f"fold-{k}"), train_rows(folds, k, rows)
        guest = spec.make_guest(call)
        model = guest.fit(
            ctx,
            x[kept],
            labels[kept],
            validate=(x[held_out], labels[held_out]) if validates else None,
            offset=shift[kept],
            validate_offset=shift[held_out],
        )
        scores = guest.predict(ctx.sub("validate"), x[held_out], model, shift[held_out])
        predicted[held_out], fold_of[held_out] = scores, k
        entry: dict[str, Any] = {
            "fold": k,
            "n_iter": model.n_iter,
            "validate": score_metrics(spec.kind, param, labels[held_out], [scores], []),
        }
        if cv.output_fold_history:
            train_scores = guest.predict(ctx.sub("train"), x[kept], model, shift[kept])
            entry["train"] = score_metrics(spec.kind, param, labels[kept], [train_scores], [])
        history.append(entry)
    metrics = {"cv": {"folds": history, "mean": _mean(history)}, "n_splits": len(folds)}
    if cv.history_value_type == "instance":
        return TaskResult(data={"data": _instances(call, table, labels, fold_of)}, metrics=metrics)
    classes = ["0", "1"] if spec.kind == "binary" else []
    data, _ = prediction_output(
        spec.kind,
        call,
        table,
        labels,
        [predicted],
        classes,
        "validate",
        {"fold": fold_of.tolist()},
    )
    return TaskResult(data={"data": data}, metrics=metrics)


def _instances(call: TaskCall, table: Table, labels: Vector, fold_of: NDArray[np.int64]) -> Any:
    """FATE's ``history_value_type: instance``: the rows themselves, each with its fold."""
    rows = Table(list(table.ids), list(table.header), table.features, labels)
    meta = {
        "source": call.module,
        "producer": call.ctx.namespace,
        "type": "validate",
        "fold": fold_of.tolist(),
        "columns": ["id", "label", *table.header, "fold", "type"],
    }
    return save_table(call.output_dir / "data.npz", rows, meta)


def host_cv(spec: GlmSpec, call: TaskCall, x: Vector, count: int) -> TaskResult:
    """A host's cross validation: the guest's folds, one fit per fold, partial scores."""
    param: Any = call.params
    if not param.cv_param.need_cv or count != param.cv_param.n_splits:
        raise ComponentError(
            f"the guest cross-validates with {count} folds; this host's cv_param differs"
        )
    rows = x.shape[0]
    folds = receive_folds(call.ctx, rows, count)
    validates = param.to_ml().validation_freqs is not None
    iterations = []
    for k, held_out in enumerate(folds):
        ctx, kept = call.ctx.sub(f"fold-{k}"), train_rows(folds, k, rows)
        host = spec.make_host(call)
        model = host.fit(ctx, x[kept], validate=x[held_out] if validates else None)
        host.predict(ctx.sub("validate"), x[held_out], model)
        if param.cv_param.output_fold_history:
            host.predict(ctx.sub("train"), x[kept], model)
        iterations.append(model.n_iter)
    return TaskResult(metrics={"n_splits": count, "n_iter": iterations})


def arbiter_cv(spec: GlmSpec, call: TaskCall, count: int) -> TaskResult:
    """The arbiter's cross validation: one fit per fold; loss histories in the metrics."""
    losses = []
    for k in range(count):
        model = spec.make_arbiter(call).fit(call.ctx.sub(f"fold-{k}"))
        losses.append([float(v) for v in model.loss_history])
    return TaskResult(metrics={"n_splits": count, "loss": losses})


def _mean(history: list[dict[str, Any]]) -> dict[str, float]:
    """The mean over the folds of each scalar ``validate`` metric every fold has."""
    reports = [h["validate"] for h in history if h["validate"] is not None]
    if len(reports) != len(history):
        return {}
    names = [
        name
        for name, value in reports[0].items()
        if isinstance(value, int | float) and name not in ("count", "positives")
    ]
    return {
        name: float(np.mean([float(r[name]) for r in reports]))
        for name in names
        if all(isinstance(r.get(name), int | float) for r in reports)
    }
