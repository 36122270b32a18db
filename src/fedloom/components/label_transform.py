"""LabelTransform: encode the label values, and decode them in prediction tables (FATE's
LabelTransform).

Labels live at the guest, so the guest transforms; a host's table has no labels and passes
through unchanged (the module runs there so that a host's downstream components get their data,
as in FATE). Nothing leaves the party. fedloom's tables are numeric, so labels and encoded
values are numbers; ``label_encoder`` keys are JSON strings naming numbers (``{"1": 0, "2":
1}``).

**Fit** (input ``data``): the encoder is ``label_encoder`` or, without it, FATE's default: the
sorted distinct labels → 0, 1, 2, ... ``label_list`` gives the labels (FATE: to type
``label_encoder``'s keys), one per key. Every label must have an entry: a label the encoder
lacks is named with its id.

**Transform** (input ``model``): a data table's labels are encoded with the model's encoder. A
*prediction table* (a model's output: ``predict_result`` / ``predict_score`` columns) is
decoded with the encoder read backwards, as FATE does: its ``label``, ``predict_result`` and
the class keys of ``predict_detail`` (and the ``classes`` of a one-vs-rest table) get the
original label values back; a regression prediction (detail ``{"label": ...}``) passes
unchanged. In fit mode a prediction table is encoded forwards (FATE's behaviour), its encoder
learned from its labels and predicted classes. A table without labels passes through in
transform mode; in fit mode at the guest it is refused.

Model (FATE names): ``meta`` ``{need_run}``; ``param`` ``{label_encoder, encoder_key_type,
encoder_value_type}`` with keys and values as strings, as FATE writes them.
"""

from __future__ import annotations

import json
import math
from typing import Any, Self

import numpy as np
from pydantic import StrictBool, StrictFloat, StrictInt, StrictStr, field_validator, model_validator

from fedloom.components._feature_transform import (
    check_against_model,
    finish,
    model_part,
    new_model,
    pass_through,
    trained_model,
)
from fedloom.components.base import (
    PARTIES,
    ComponentDef,
    ComponentError,
    FateParam,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.io import load_table_with_meta
from fedloom.data import Table
from fedloom.ml.transforms.label import UnknownLabel, encode, inverse, learn_encoder

__all__ = ["LABEL_TRANSFORM", "LabelTransformParam", "run_label_transform"]

Number = StrictInt | StrictFloat
PREDICTION_HEADER = ["predict_result", "predict_score"]


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number; fedloom's labels are numeric") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} {text!r} is not a finite number")
    return value


class LabelTransformParam(FateParam):
    """FATE's LabelTransformParam: names and defaults."""

    label_encoder: dict[str, Number] | None = None
    label_list: list[Number | StrictStr] | None = None
    need_run: StrictBool = True

    @field_validator("label_encoder")
    @classmethod
    def _encoder(cls, value: dict[str, float | int] | None) -> dict[str, float | int] | None:
        if value is None:
            return None
        keys = [_number(key, "label_encoder key") for key in value]
        if len(set(keys)) != len(keys):
            raise ValueError("label_encoder names one label twice (e.g. '1' and '1.0')")
        return value

    @model_validator(mode="after")
    def _list_matches(self) -> Self:
        if self.label_list is None:
            return self
        if self.label_encoder is None:
            raise ValueError("label_list types label_encoder's keys: set label_encoder too")
        if sorted(str(v) for v in self.label_list) != sorted(self.label_encoder):
            raise ValueError(
                f"label_list {self.label_list} must list label_encoder's keys "
                f"{list(self.label_encoder)}, one each"
            )
        return self

    def encoder(self) -> dict[float, float] | None:
        """``label_encoder`` as numbers (None: learn it)."""
        if self.label_encoder is None:
            return None
        return {float(k): float(v) for k, v in self.label_encoder.items()}


def run_label_transform(call: TaskCall) -> TaskResult:
    """LabelTransform at the guest (or a host, whose table passes through)."""
    param = call.params
    assert isinstance(param, LabelTransformParam)
    if call.role != "guest" and "data" not in call.inputs:
        return TaskResult(metrics={"mode": "pass_through", "reason": "no data at this party"})
    artifact = call.input("data", "data", "the table whose labels to transform")
    table, meta = load_table_with_meta(artifact.path)
    if not param.need_run:
        return pass_through(call, table, meta, "need_run is false")
    model = trained_model(call)
    prediction = table.header == PREDICTION_HEADER and "predict_detail" in meta
    if model is None:
        if table.labels is None and not prediction:
            if call.role != "guest":
                return pass_through(call, table, meta, "no labels at this party")
            raise ComponentError(
                "LabelTransform at the guest: the table has no labels to learn an encoder from "
                "(set with_label in DataTransform)"
            )
        mapping = param.encoder() or _learn(table, prediction)
        model = _model(call, param, mapping)
    else:
        check_against_model(call, model)
        mapping = _trained(call, model)
        if prediction:
            try:
                mapping = inverse(mapping)
            except ValueError as exc:
                raise ComponentError(f"LabelTransform: {exc}") from None
    mode = "fit" if "model" not in call.inputs else "transform"
    if prediction:
        if _is_regression(meta):
            return finish(call, table, meta, model, {"mode": mode, "regression": True})
        table, meta = _map_prediction(table, meta, mapping)
    elif table.labels is not None:
        table = Table(
            table.ids,
            table.header,
            table.features,
            _encode(table, table.labels, mapping),
            table.weights,
        )
        meta = {"source": call.module}
    metrics = {"mode": mode, "label_encoder": {_name(k): v for k, v in mapping.items()}}
    return finish(call, table, meta, model, metrics)


def _learn(table: Table, prediction: bool) -> dict[float, float]:
    labels = np.asarray([] if table.labels is None else table.labels, dtype=np.float64)
    if prediction:
        labels = np.concatenate([labels, table.features[:, 0]])
    return learn_encoder(labels)


def _encode(table: Table, values: np.ndarray[Any, Any], mapping: dict[float, float]) -> Any:
    try:
        return encode(np.asarray(values, dtype=np.float64), mapping)
    except UnknownLabel as exc:
        raise ComponentError(
            f"LabelTransform: label {exc.value:g} of id {table.ids[exc.row]!r} "
            f"(row {exc.row + 1}) is not in the label encoder {sorted(mapping)}"
        ) from None


def _is_regression(meta: dict[str, Any]) -> bool:
    details = meta.get("predict_detail") or []
    return bool(details) and list(json.loads(details[0])) == ["label"]


def _map_prediction(
    table: Table, meta: dict[str, Any], mapping: dict[float, float]
) -> tuple[Table, dict[str, Any]]:
    """Labels, predicted classes, detail keys and ovr classes mapped by ``mapping``."""
    features = table.features.copy()
    features[:, 0] = _encode(table, features[:, 0], mapping)
    labels = None if table.labels is None else _encode(table, table.labels, mapping)
    out_meta = dict(meta)
    details = []
    for row, text in enumerate(meta["predict_detail"]):
        detail = json.loads(text)
        try:
            mapped = {_name(mapping[_number(k, "class")]): v for k, v in detail.items()}
        except (KeyError, ValueError):
            raise ComponentError(
                f"LabelTransform: the predict_detail of id {table.ids[row]!r} names classes "
                f"{list(detail)}, not all in the label encoder {sorted(mapping)}"
            ) from None
        details.append(json.dumps(mapped))
    out_meta["predict_detail"] = details
    if isinstance(meta.get("classes"), list):
        out_meta["classes"] = [_name(mapping[_number(c, "class")]) for c in meta["classes"]]
    return Table(table.ids, table.header, features, labels, table.weights), out_meta


def _name(value: float) -> str:
    """A label as FATE prints it: ``1`` for an integer value, ``1.5`` otherwise."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _kind(value: float | int) -> str:
    return "int" if isinstance(value, int) or float(value).is_integer() else "float"


def _model(
    call: TaskCall, param: LabelTransformParam, mapping: dict[float, float]
) -> dict[str, Any]:
    if param.label_encoder is not None:
        given = param.label_encoder
        listed = {str(v): v for v in param.label_list or []}
        key_type = {k: type(listed[k]).__name__ if k in listed else _kind(float(k)) for k in given}
        encoder = {k: str(v) for k, v in given.items()}
        value_type = {k: type(v).__name__ for k, v in given.items()}
    else:
        encoder = {_name(k): _name(v) for k, v in mapping.items()}
        key_type = {_name(k): _kind(k) for k in mapping}
        value_type = {_name(k): "int" for k in mapping}
    return new_model(
        call,
        {"need_run": True},
        {
            "label_encoder": encoder,
            "encoder_key_type": key_type,
            "encoder_value_type": value_type,
        },
    )


def _trained(call: TaskCall, model: dict[str, Any]) -> dict[float, float]:
    encoder = model_part(call, model, "param", "label_encoder")
    try:
        return {
            _number(str(k), "label_encoder key"): _number(str(v), "encoded label")
            for k, v in encoder.items()
        }
    except (AttributeError, ValueError) as exc:
        raise ComponentError(
            f"LabelTransform: invalid label_encoder in the model ({exc})"
        ) from None


LABEL_TRANSFORM = ComponentDef(
    module="LabelTransform",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=LabelTransformParam,
    runners=same_runner(run_label_transform, PARTIES),
    data_inputs={"data": (1, 1)},
    model_inputs={"model": (0, 1)},
    outputs=frozenset({"data", "model"}),
)
"""The LabelTransform module's declaration."""
