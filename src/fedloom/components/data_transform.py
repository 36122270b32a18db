"""DataTransform: the Reader's table → typed feature columns (+ label), missing values and
outliers replaced; its model is the schema, applied as it is to other tables.

**Fit** (no input ``model``): the format parameters (``input_format``, ``delimitor``,
``tag_with_value``, ``tag_value_delimitor``) default to the table's upload meta and, when set,
must agree with it; ``with_label`` / ``label_name`` / ``label_type`` default to the upload meta
too (for sparse and tag tables they describe each row's layout, so they must agree with it). A
dense table's features are its columns; sparse and tag rows are parsed here (see
:mod:`fedloom.components.data_transform_schema` for the columns each format gives). Replacement
values for missing cells and outliers are learned for every column.

**Transform** (input ``model`` from a DataTransform of the same job, e.g. for validate data, or
of the deployed model in a predict job): the model's schema is applied exactly — same columns in
the same order, same tag vocabulary, same replacement values, same types. As in FATE's predict
conf, only ``need_run`` and the label (``with_label``; ``label_name`` / ``label_type`` when the
model has no label) may be set; any other parameter set to a value other than its default and
the model's is refused, and the table's format must be the model's.

The model (JSON) keeps FATE's names: ``meta`` holds the DataTransformParam values used;
``param`` holds ``header`` (the output columns: the dense columns, ``x<index>`` for sparse, the
sorted tags for tag), ``sid_name``, ``label_name``, ``imputer_param`` (``missing_replace_value``,
``missing_value_ratio``) and ``outlier_param`` (``outlier_replace_value``,
``outlier_value_ratio``). Error messages name ids, rows and columns: they are for this party.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fedloom.components.base import (
    PARTIES,
    ComponentDef,
    ComponentError,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.data_transform_param import INTEGER_TYPES, DataTransformParam
from fedloom.components.data_transform_schema import (
    Columns,
    apply_replacements,
    dense_columns,
    learn_replacements,
    listed_mask,
    ratios,
    text_columns,
)
from fedloom.components.io import load_model, load_table_with_meta, save_model, save_table
from fedloom.data import (
    CsvFormatError,
    Table,
    TableFormat,
    TableOptionError,
    read_text_table,
    stored_format,
)

__all__ = ["DATA_TRANSFORM", "DataTransformParam", "run_data_transform"]

_FORMAT = {
    "input_format": "input_format",
    "delimitor": "delimiter",
    "tag_with_value": "tag_with_value",
    "tag_value_delimitor": "tag_value_delimitor",
}
_LABEL = ("with_label", "label_name", "label_type")
_NOT_IN_MODEL = frozenset({"need_run", "with_match_id", "match_id_name", "match_id_index"})
_MODEL_KEYS = tuple(k for k in DataTransformParam.model_fields if k not in _NOT_IN_MODEL)


def run_data_transform(call: TaskCall) -> TaskResult:
    """DataTransform at the guest or a host: input ``data`` (and optional ``model``) → data
    output ``data`` + model."""
    param = call.params
    assert isinstance(param, DataTransformParam)
    data = call.input("data", "data", "the Reader's output")
    source, meta = load_table_with_meta(data.path)
    if not param.need_run:
        out = save_table(call.output_dir / "data.npz", source, {"source": "DataTransform"})
        return TaskResult(data={"data": out}, metrics={"need_run": False})
    fmt = _table_format(meta)
    model_in = call.inputs.get("model")
    trained: dict[str, Any] | None = None
    if model_in is None:
        settings = _fit_settings(param, fmt)
    else:
        trained = _load_trained(call.input("model", "model", "a DataTransform model").path)
        settings = _transform_settings(param, trained, fmt)
    columns = _columns(source, meta, data.path, settings, trained)
    if columns.labels is not None:
        _check_labels(columns, settings.label_name, settings.label_type)
    header, features = columns.header, columns.features

    missing = np.isnan(features) | listed_mask(features, settings.missing_impute)
    missing_values: dict[str, float] = {}
    if settings.missing_fill:
        missing_values = (
            learn_replacements(
                features,
                missing,
                header,
                settings.missing_fill_method,
                settings.default_value,
                "default_value",
            )
            if trained is None
            else trained["param"]["imputer_param"]["missing_replace_value"]
        )
        apply_replacements(features, missing, header, missing_values)
    else:
        # As FATE's: missing cells stay missing (NaN) for FeatureImputation downstream; a module
        # that needs finite values says so, naming the cell, at this party only.
        features[missing] = np.nan
    outliers = np.zeros_like(missing)
    outlier_values: dict[str, float] = {}
    if settings.outlier_replace:
        outliers = listed_mask(features, settings.outlier_impute)
        outlier_values = (
            learn_replacements(
                features,
                outliers,
                header,
                settings.outlier_replace_method,
                settings.outlier_replace_value,
                "outlier_replace_value",
            )
            if trained is None
            else trained["param"]["outlier_param"]["outlier_replace_value"]
        )
        apply_replacements(features, outliers, header, outlier_values)
    _check_types(columns, settings)

    table = Table(list(columns.ids), header, features, columns.labels)
    out = save_table(call.output_dir / "data.npz", table, {"source": "DataTransform"})
    model = trained or {
        "module": "DataTransform",
        "meta": {key: getattr(settings, key) for key in _MODEL_KEYS},
        "param": {
            "header": header,
            "sid_name": str(meta.get("sid_name", "id")),
            "label_name": settings.label_name if settings.with_label else None,
            "imputer_param": {
                "missing_replace_value": missing_values,
                "missing_value_ratio": ratios(missing, header),
            },
            "outlier_param": {
                "outlier_replace_value": outlier_values,
                "outlier_value_ratio": ratios(outliers, header),
            },
        },
    }
    metrics: dict[str, Any] = {
        "mode": "fit" if trained is None else "transform",
        "input_format": settings.input_format,
        "count": len(table),
        "features": len(header),
        "missing_filled": int(missing.sum()) if settings.missing_fill else 0,
        "missing_kept": 0 if settings.missing_fill else int(missing.sum()),
        "outliers_replaced": int(outliers.sum()),
    }
    if settings.input_format == "tag":
        metrics["unknown_tags"] = columns.unknown_tags
    return TaskResult(
        data={"data": out}, model=save_model(call.output_dir / "model.json", model), metrics=metrics
    )


def _table_format(meta: dict[str, Any]) -> TableFormat | None:
    """The format the Reader recorded, or None (an input not from a Reader: dense, format
    unknown)."""
    recorded = meta.get("format")
    if recorded is None:
        return None
    if not isinstance(recorded, dict):
        raise ComponentError("DataTransform: the input's table format is not a JSON object")
    try:
        return stored_format(recorded)
    except TableOptionError as exc:
        raise ComponentError(f"DataTransform: the input's table format is invalid: {exc}") from None


def _fit_settings(param: DataTransformParam, fmt: TableFormat | None) -> DataTransformParam:
    """The parameters with the table's format filled in (explicit ones must agree with it)."""
    if fmt is None:
        return param
    explicit = param.model_fields_set
    update: dict[str, Any] = {}
    structural = dict(_FORMAT) | ({} if fmt.dense else {k: k for k in _LABEL})
    for name, key in structural.items():
        table_value = getattr(fmt, key)
        if name in explicit and getattr(param, name) != table_value:
            raise ComponentError(
                f"DataTransform: {name} {getattr(param, name)!r} disagrees with the table, "
                f"uploaded with {key} {table_value!r}"
            )
        update[name] = table_value
    if fmt.dense:
        update |= {name: getattr(fmt, name) for name in _LABEL if name not in explicit}
    return param.model_copy(update=update)


def _load_trained(path: Path) -> dict[str, Any]:
    model = load_model(path)
    if model.get("module") != "DataTransform" or not isinstance(model.get("meta"), dict):
        raise ComponentError("DataTransform: input model is not a DataTransform model")
    try:
        DataTransformParam.model_validate({k: model["meta"][k] for k in _MODEL_KEYS})
        param = model["param"]
        for key in ("imputer_param", "outlier_param"):
            if not isinstance(param[key], dict):
                raise TypeError(key)
        if not all(isinstance(h, str) for h in param["header"]):
            raise TypeError("header")
    except (KeyError, TypeError, ValueError) as exc:
        raise ComponentError(f"DataTransform: input model is invalid ({exc})") from None
    return model


def _default(name: str) -> Any:
    return DataTransformParam.model_fields[name].get_default(call_default_factory=True)


def _transform_settings(
    param: DataTransformParam, trained: dict[str, Any], fmt: TableFormat | None
) -> DataTransformParam:
    """The model's parameters, with the label (and need_run) the predict conf may set."""
    settings = DataTransformParam.model_validate({k: trained["meta"][k] for k in _MODEL_KEYS})
    has_label = settings.with_label
    free = {"with_label"} | (set() if has_label else {"label_name", "label_type"})
    # The flow hands every parameter over, defaults included: a default never conflicts.
    given = {n for n in param.model_fields_set if getattr(param, n) != _default(n)}
    for name in sorted(given - free - {"need_run"}):
        if getattr(param, name) != getattr(settings, name):
            raise ComponentError(
                f"DataTransform with an input model applies the trained schema: {name} "
                f"{getattr(param, name)!r} differs from the model's {getattr(settings, name)!r}"
            )
    update = {name: getattr(param, name) for name in free if name in given}
    if fmt is None:
        return settings.model_copy(update=update)
    # a dense table is split into columns by the Reader: its delimiter does not matter here
    for name, key in (_FORMAT if not fmt.dense else {"input_format": "input_format"}).items():
        if getattr(fmt, key) != getattr(settings, name):
            raise ComponentError(
                f"DataTransform: the table's {key} {getattr(fmt, key)!r} differs from the "
                f"model's {name} {getattr(settings, name)!r}"
            )
    if not fmt.dense:
        if "with_label" in update and update["with_label"] != fmt.with_label:
            raise ComponentError(
                f"DataTransform: with_label {update['with_label']!r} disagrees with the table, "
                f"uploaded with with_label {fmt.with_label!r}"
            )
        update["with_label"] = fmt.with_label
    return settings.model_copy(update=update)


def _columns(
    source: Table,
    meta: dict[str, Any],
    data_path: Path,
    settings: DataTransformParam,
    trained: dict[str, Any] | None,
) -> Columns:
    header = None if trained is None else list(trained["param"]["header"])
    if settings.input_format == "dense":
        model_label = None if trained is None else trained["param"]["label_name"]
        label = settings.label_name if settings.with_label else None
        ignored = model_label if model_label != label else None
        return dense_columns(
            source.ids, source.header, source.features.copy(), label, header, ignored
        )
    raw = meta.get("raw_rows")
    if not isinstance(raw, str) or Path(raw).name != raw:
        raise ComponentError(
            f"DataTransform: a {settings.input_format} table needs the Reader's rows: "
            "connect DataTransform's data input to a Reader"
        )
    fmt = TableFormat(
        input_format=settings.input_format,
        delimiter=settings.delimitor,
        tag_with_value=settings.tag_with_value,
        tag_value_delimitor=settings.tag_value_delimitor,
        with_label=settings.with_label,
    )
    try:
        rows = read_text_table(data_path.parent / raw)
    except CsvFormatError as exc:
        raise ComponentError(f"DataTransform: {exc}") from None
    return text_columns(source.ids, rows, fmt, header)


def _check_labels(columns: Columns, name: str, label_type: str) -> None:
    labels = columns.labels
    assert labels is not None
    bad = np.flatnonzero(np.isnan(labels))
    if bad.size:
        row = int(bad[0])
        raise ComponentError(
            f"DataTransform: label {name!r} is missing at id {columns.ids[row]!r} (row {row + 1})"
        )
    if label_type in INTEGER_TYPES:
        bad = np.flatnonzero(labels != np.round(labels))
        if bad.size:
            row = int(bad[0])
            raise ComponentError(
                f"DataTransform: label {name!r} is {labels[row]} at id {columns.ids[row]!r} "
                f"(row {row + 1}), not an integer (label_type {label_type!r})"
            )


def _check_types(columns: Columns, param: DataTransformParam) -> None:
    exclusive = param.exclusive_data_type or {}
    for column in exclusive:
        if column not in columns.header:
            raise ComponentError(f"DataTransform: exclusive_data_type names no feature {column!r}")
    for j, column in enumerate(columns.header):
        if exclusive.get(column, param.data_type) in INTEGER_TYPES:
            values = columns.features[:, j]
            bad = np.flatnonzero(values != np.round(values))
            if bad.size:
                row = int(bad[0])
                raise ComponentError(
                    f"DataTransform: column {column!r} is {values[row]} at id "
                    f"{columns.ids[row]!r} (row {row + 1}), not an integer (data_type)"
                )


DATA_TRANSFORM = ComponentDef(
    module="DataTransform",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=DataTransformParam,
    runners=same_runner(run_data_transform, PARTIES),
    data_inputs={"data": (1, 1)},
    model_inputs={"model": (0, 1)},
    outputs=frozenset({"data", "model"}),
    aliases=("DataIO",),  # its name before FATE 1.7
)
"""The DataTransform module's declaration."""
