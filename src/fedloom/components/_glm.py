"""The runner shared by the GLM modules (HeteroLR, HeteroLinR, HeteroPoisson).

What a task does follows from its inputs, as in FATE:

- ``train_data`` (+ optional ``validate_data``): train, then score the training rows; with a
  ``model`` input too, training continues from that model (warm start). With
  ``validation_freqs`` the validation rows are scored during training (``metrics.validate``:
  one dict per validated epoch; one list per class for one-vs-rest); either way the final
  model scores them once more (``metrics.validate_final``, the same report as ``train``);
- ``model`` with ``test_data`` (or ``data``) and no ``train_data``: predict with the model.

The guest announces which to the hosts and the arbiter (the arbiter has no data inputs to
tell from). Output data (guest only): FATE's prediction columns — see :mod:`._glm_output`.
Instance weights of the guest's training rows (a SampleWeight upstream) weigh its fit; a
host's table never carries any (weights live at the guest).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from fedloom.components._glm_cv import arbiter_cv, check_cv_inputs, guest_cv, host_cv
from fedloom.components._glm_model import LoadedModel, aligned, load_glm_model, model_document
from fedloom.components._glm_output import prediction_output, score_metrics
from fedloom.components._glm_param import GlmParam
from fedloom.components._glm_roles import ArbiterAlgorithm, GuestAlgorithm, HostAlgorithm
from fedloom.components.base import (
    ALL_ROLES,
    ComponentDef,
    ComponentError,
    InputArtifact,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.io import load_table_with_meta, save_model
from fedloom.data import Table
from fedloom.federation import Context
from fedloom.ml.glm import HeteroLRModel, HeteroLRParam, announce_task, await_task

Vector = NDArray[np.float64]


@dataclass(frozen=True)
class GlmSpec:
    """What differs between the GLM modules; the runner does the rest.

    ``guest``, ``host``, ``arbiter`` are the ``fedloom.ml`` classes of each role, made with
    the algorithm config of ``param_model`` (``to_ml``). ``labels`` checks the guest's labels
    and returns them with the class names (one-vs-rest when there are more than two; ``[]``
    for regression). ``guest_table`` may take columns out of the guest's table
    (HeteroPoisson's exposure) and returns the per-row offset they make.
    """

    module: str
    kind: str
    param_model: type[GlmParam]
    guest: Callable[[HeteroLRParam], GuestAlgorithm]
    host: Callable[[HeteroLRParam], HostAlgorithm]
    arbiter: Callable[..., ArbiterAlgorithm]
    labels: Callable[[TaskCall, Table], tuple[Vector, list[str]]]
    guest_table: Callable[[TaskCall, Table], tuple[Table, Vector | None]] | None = None

    def config(self, call: TaskCall) -> HeteroLRParam:
        """The algorithm config of the task's parameters."""
        param: GlmParam = params_of(call, self.param_model)
        return param.to_ml()

    def make_guest(self, call: TaskCall) -> GuestAlgorithm:
        """The guest's algorithm for this task."""
        return self.guest(self.config(call))

    def make_host(self, call: TaskCall) -> HostAlgorithm:
        """A host's algorithm for this task."""
        return self.host(self.config(call))

    def make_arbiter(self, call: TaskCall) -> ArbiterAlgorithm:
        """The arbiter's algorithm for this task (with the test hooks' key generation)."""
        return self.arbiter(self.config(call), keygen=call.hooks.keygen)

    def declaration(self) -> ComponentDef:
        """The module's ``ComponentDef``: every role, the GLM inputs, outputs and checks."""
        return ComponentDef(
            module=self.module,
            roles=ALL_ROLES,
            required_roles=ALL_ROLES,
            param_model=self.param_model,
            runners=same_runner(partial(run_glm, self), ALL_ROLES),
            data_inputs=DATA_INPUTS,
            model_inputs=MODEL_INPUTS,
            outputs=frozenset({"data", "model"}),
            consistent_params=CONSISTENT_PARAMS,
        )


DATA_INPUTS: dict[str, tuple[int, int]] = {
    "train_data": (0, 1),
    "validate_data": (0, 1),
    "test_data": (0, 1),
    "data": (0, 1),
}
"""The data slots of every GLM module (the runner checks which combination makes a task)."""
MODEL_INPUTS: dict[str, tuple[int, int]] = {"model": (0, 1)}
"""The model slot: a warm start with train_data, or the model to predict with."""
CONSISTENT_PARAMS = (
    "max_iter",
    "early_stop",
    "tol",
    "batch_size",
    "batch_strategy",
    "masked_rate",
    "validation_freqs",
    "early_stopping_rounds",
    "callback_param.validation_freqs",
    "callback_param.early_stopping_rounds",
    "callback_param.callbacks",
    "cv_param.need_cv",
    "cv_param.n_splits",
    "cv_param.output_fold_history",
    "encrypt_param.method",
    "encrypt_param.key_length",
)
"""Parameters every party of a GLM job must share. The crypto backend is each party's own
choice: keys and ciphertexts are the same on the wire whichever library computes them."""


def run_glm(spec: GlmSpec, call: TaskCall) -> TaskResult:
    """A GLM task at any role: fit (possibly warm-started and validated), cross-validate
    (``cv_param.need_cv``, :mod:`._glm_cv`) or predict."""
    if _param(call).cv_param.need_cv:
        check_cv_inputs(call)
    artifact = call.inputs.get("model")
    loaded = load_glm_model(call, artifact.path) if artifact is not None else None
    if call.role == "arbiter":
        return _arbiter(spec, call, loaded)
    train = call.inputs.get("train_data")
    test = call.inputs.get("test_data") or call.inputs.get("data")
    if train is None:
        if loaded is None or test is None:
            raise ComponentError(
                f"{call.module} at the {call.role} needs train_data to train, or a model "
                "input with test_data to predict"
            )
        return _predict(spec, call, loaded, test)
    if test is not None:
        raise ComponentError(
            f"{call.module} trains on train_data or predicts on test_data, not both in one "
            "task: predict in a second component with this one's model as input"
        )
    return _fit(spec, call, loaded, train)


def _table(artifact: InputArtifact, call: TaskCall, what: str) -> Table:
    table, _ = load_table_with_meta(artifact.path)
    if not table.header:
        raise ComponentError(f"{call.module} at the {call.role}: the {what} table has no features")
    if not len(table):
        raise ComponentError(
            f"{call.module} at the {call.role}: the {what} table has no rows (no shared ids?)"
        )
    return table


def _prepared(spec: GlmSpec, call: TaskCall, table: Table) -> tuple[Table, Vector | None]:
    """The guest's table without its offset columns, and the offset (None: no offset)."""
    if call.role == "guest" and spec.guest_table is not None:
        prepared: tuple[Table, Vector | None] = spec.guest_table(call, table)
        return prepared
    return table, None


def _arbiter(spec: GlmSpec, call: TaskCall, loaded: LoadedModel | None) -> TaskResult:
    task, count = await_task(call.ctx)
    if task == "predict":
        return TaskResult()
    if task == "cv":
        return arbiter_cv(spec, call, count)
    _check_count(call, loaded, count)
    models = []
    for k, ctx in _model_contexts(call.ctx, count):
        warm = loaded.models[k] if loaded is not None else None
        models.append(spec.make_arbiter(call).fit(ctx, warm_start=warm))
    summary = {**_summary(models), "loss": [float(v) for v in models[0].loss_history]}
    document = model_document(call, _meta(call), models, None, _classes(count))
    return TaskResult(model=save_model(call.output_dir / "model.json", document), metrics=summary)


def _fit(
    spec: GlmSpec, call: TaskCall, loaded: LoadedModel | None, train: InputArtifact
) -> TaskResult:
    raw = _table(train, call, "training")
    weights = raw.weights
    if weights is not None and call.role == "host":
        raise ComponentError(
            f"{call.module}: the host's training rows carry instance weights; weights live at "
            "the guest (run SampleWeight's weights at the guest only)"
        )
    table, offset = _prepared(spec, call, raw)
    header = loaded.header if loaded is not None else list(table.header)
    x = aligned(table, header, "training")
    validate = call.inputs.get("validate_data")
    v_table, v_offset = None, None
    if validate is not None:
        v_table, v_offset = _prepared(spec, call, _table(validate, call, "validation"))
    x_val = aligned(v_table, header, "validation") if v_table is not None else None
    if call.role == "host":
        return _fit_host(spec, call, loaded, x, x_val, header)
    labels, classes = spec.labels(call, table)
    if _param(call).cv_param.need_cv:
        if weights is not None:
            raise ComponentError(
                f"{call.module}: cross validation with instance weights is not implemented"
            )
        if len(classes) > 2:
            raise ComponentError(
                f"{call.module}: cross validation of one-vs-rest models is not implemented"
            )
        return guest_cv(spec, call, table, offset, labels)
    if loaded is not None and loaded.classes != (classes if len(classes) > 2 else []):
        raise ComponentError(
            f"the warm-start model's classes {loaded.classes} are not the training labels' "
            f"{classes}"
        )
    targets = _targets(labels, classes)
    announce_task(call.ctx, "fit", len(targets))
    v_targets: list[Vector | None] = [None] * len(targets)
    v_labels = None
    if v_table is not None:
        v_labels = _validation_labels(spec, call, v_table, classes)
        v_targets = list(_targets(v_labels, classes))
    per_epoch = _param(call).to_ml().validation_freqs is not None
    models, scores, v_scores = [], [], []
    for (k, ctx), y in zip(_model_contexts(call.ctx, len(targets)), targets, strict=True):
        guest = spec.make_guest(call)
        warm = loaded.models[k] if loaded is not None else None
        y_val = v_targets[k]
        pair = (x_val, y_val) if per_epoch and x_val is not None and y_val is not None else None
        models.append(
            guest.fit(
                ctx,
                x,
                y,
                warm_start=warm,
                validate=pair,
                offset=offset,
                validate_offset=v_offset,
                weights=weights,
            )
        )
        scores.append(guest.predict(ctx, x, models[-1], offset))
        if x_val is not None:
            v_scores.append(guest.predict(ctx.sub("validate_data"), x_val, models[-1], v_offset))
    metrics = _summary(models)
    if per_epoch and len(models) == 1:
        metrics["validate"] = [dict(v) for v in models[0].validation]
        metrics["best_iteration"] = models[0].best_iteration
    elif per_epoch:
        metrics["validate"] = {
            c: [dict(v) for v in m.validation] for c, m in zip(classes, models, strict=True)
        }
    if v_scores:
        final = score_metrics(spec.kind, call.params, v_labels, v_scores, classes)
        if final is not None:
            metrics["validate_final"] = final
    data, train_metrics = prediction_output(
        spec.kind, call, table, labels, scores, classes, "train"
    )
    metrics.update(train_metrics)
    document = model_document(
        call, _meta(call), models, header, classes if len(classes) > 2 else None
    )
    path = save_model(call.output_dir / "model.json", document)
    return TaskResult(data={"data": data}, model=path, metrics=metrics)


def _fit_host(
    spec: GlmSpec,
    call: TaskCall,
    loaded: LoadedModel | None,
    x: Vector,
    x_val: Vector | None,
    header: list[str],
) -> TaskResult:
    """A host's training task: as many fits as the guest announces (or its folds)."""
    task, count = await_task(call.ctx)
    if task == "cv":
        return host_cv(spec, call, x, count)
    if task != "fit" or _param(call).cv_param.need_cv:
        raise ComponentError(f"the guest runs {task!r}; this host's cv_param.need_cv differs")
    _check_count(call, loaded, count)
    models = []
    per_epoch = _param(call).to_ml().validation_freqs is not None
    for k, ctx in _model_contexts(call.ctx, count):
        host = spec.make_host(call)
        warm = loaded.models[k] if loaded is not None else None
        models.append(host.fit(ctx, x, warm_start=warm, validate=x_val if per_epoch else None))
        host.predict(ctx, x, models[-1])
        if x_val is not None:
            host.predict(ctx.sub("validate_data"), x_val, models[-1])
    document = model_document(call, _meta(call), models, header, _classes(count))
    return TaskResult(
        model=save_model(call.output_dir / "model.json", document), metrics=_summary(models)
    )


def _validation_labels(spec: GlmSpec, call: TaskCall, table: Table, classes: list[str]) -> Vector:
    """The validation rows' labels: checked like the training labels, or, for one-vs-rest,
    any finite class values (a class the training rows lack matches no sub-model)."""
    if len(classes) <= 2:
        return spec.labels(call, table)[0]
    if table.labels is None or not np.all(np.isfinite(table.labels)):
        raise ComponentError(f"{call.module}: the validation rows need finite labels")
    return table.labels


def _predict(spec: GlmSpec, call: TaskCall, loaded: LoadedModel, test: InputArtifact) -> TaskResult:
    table, offset = _prepared(spec, call, _table(test, call, "test"))
    x = aligned(table, loaded.header, "test")
    count = max(len(loaded.models), 1)
    if call.role == "host":
        task, announced = await_task(call.ctx)
        if task != "predict" or announced != count:
            raise ComponentError(
                f"the guest runs {task!r} with {announced} model(s); this host predicts "
                f"with {count}"
            )
        for k, ctx in _model_contexts(call.ctx, count):
            spec.make_host(call).predict(ctx, x, loaded.models[k])
        return TaskResult()
    announce_task(call.ctx, "predict", count)
    guest = spec.make_guest(call)
    scores = [
        guest.predict(ctx, x, loaded.models[k], offset)
        for k, ctx in _model_contexts(call.ctx, count)
    ]
    labels = table.labels
    data, metrics = prediction_output(
        spec.kind, call, table, labels, scores, loaded.classes or _binary(spec), "test"
    )
    return TaskResult(data={"data": data}, metrics=metrics)


def _binary(spec: GlmSpec) -> list[str]:
    return ["0", "1"] if spec.kind == "binary" else []


def _targets(labels: Vector, classes: list[str]) -> list[Vector]:
    """The fit target of each sub-model: the labels, or one 0/1 vector per class (ovr)."""
    if len(classes) <= 2:
        return [labels]
    values = [float(c) for c in classes]
    return [(labels == v).astype(np.float64) for v in values]


def _classes(count: int) -> list[str] | None:
    return None if count == 1 else [str(k) for k in range(count)]


def _model_contexts(ctx: Context, count: int) -> list[tuple[int, Context]]:
    """One context per sub-model: the task's own for one model, ``ovr-k`` for one-vs-rest."""
    if count == 1:
        return [(0, ctx)]
    return [(k, ctx.sub(f"ovr-{k}")) for k in range(count)]


def _check_count(call: TaskCall, loaded: LoadedModel | None, count: int) -> None:
    if loaded is not None and len(loaded.models) != count:
        raise ComponentError(
            f"the {call.role}'s warm-start model has {len(loaded.models)} sub-models, the "
            f"guest trains {count}"
        )


def _summary(models: list[HeteroLRModel]) -> dict[str, Any]:
    return {
        "n_iter": max(int(m.n_iter) for m in models),
        "converged": all(bool(m.converged) for m in models),
    }


def _param(call: TaskCall) -> GlmParam:
    param: GlmParam = params_of(call, GlmParam)
    return param


def _meta(call: TaskCall) -> dict[str, Any]:
    return _param(call).model_meta(call.module)


def params_of(call: TaskCall, kind: type[BaseModel]) -> Any:
    """``call.params`` checked to be ``kind``."""
    if not isinstance(call.params, kind):
        raise ComponentError(f"{call.module} got parameters of type {type(call.params).__name__}")
    return call.params
