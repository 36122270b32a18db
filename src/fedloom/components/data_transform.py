"""DataTransform: pick the label column, type the features, fill missing values and outliers.

Parameters keep FATE's names and defaults (``DataTransformParam``). fedloom reads dense CSV
tables only; the options of FATE's sparse and tag formats are accepted at their defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import StrictBool, StrictFloat, StrictInt, StrictStr, field_validator

from fedloom.components.base import (
    PARTIES,
    ComponentDef,
    ComponentError,
    FateParam,
    TaskCall,
    TaskResult,
    lower,
    same_runner,
    supported,
)
from fedloom.components.io import load_table_with_meta, save_model, save_table
from fedloom.components.reader import MISSING_MARKERS
from fedloom.data import Table

Number = StrictInt | StrictFloat
FillMethod = Literal["min", "max", "mean", "designated"]
_NUMERIC_TYPES = ("float64", "float", "int", "int64", "long")
_NO_STR = {"str": "fedloom tables are numeric; string columns are not supported"}


class DataTransformParam(FateParam):
    """FATE's DataTransform parameters (FATE names and defaults)."""

    input_format: str = "dense"
    delimitor: str = ","
    data_type: str = "float64"
    exclusive_data_type: dict[str, str] | None = None
    tag_with_value: StrictBool = False
    tag_value_delimitor: StrictStr = ":"
    missing_fill: StrictBool = False
    default_value: Number | list[Number] | None = 0
    missing_fill_method: FillMethod | None = None
    missing_impute: list[Number | StrictStr] | None = None
    outlier_replace: StrictBool = False
    outlier_replace_method: FillMethod | None = None
    outlier_impute: list[Number | StrictStr] | None = None
    outlier_replace_value: Number | list[Number] | None = 0
    with_label: StrictBool = False
    label_name: StrictStr = "y"
    label_type: str = "int"
    output_format: str = "dense"
    need_run: StrictBool = True
    with_match_id: StrictBool = False
    match_id_name: StrictStr | None = None
    match_id_index: StrictInt = 0

    only_default: ClassVar[Mapping[str, str]] = {
        "delimitor": "the CSV delimiter is an upload option of the table (its 'delimiter')",
        "with_match_id": "match ids are not supported; the table's id column is the sample id",
        "match_id_name": "match ids are not supported",
        "match_id_index": "match ids are not supported",
    }

    _lower = field_validator(
        "input_format",
        "output_format",
        "data_type",
        "label_type",
        "missing_fill_method",
        "outlier_replace_method",
        mode="before",
    )(lower)

    @field_validator("input_format", "output_format")
    @classmethod
    def _dense(cls, value: str) -> str:
        why = "fedloom reads and writes dense tables only"
        return supported(value, ("dense",), {"sparse": why, "tag": why})

    @field_validator("data_type", "label_type")
    @classmethod
    def _numeric(cls, value: str) -> str:
        return supported(value, _NUMERIC_TYPES, _NO_STR)

    @field_validator("exclusive_data_type")
    @classmethod
    def _exclusive(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {col: supported(t.lower(), _NUMERIC_TYPES, _NO_STR) for col, t in value.items()}

    @field_validator("missing_impute", "outlier_impute")
    @classmethod
    def _impute(cls, value: list[float | int | str] | None) -> list[float | int | str] | None:
        for item in value or []:
            if isinstance(item, str) and item.strip().lower() not in MISSING_MARKERS:
                try:
                    float(item)
                except ValueError:
                    raise ValueError(
                        f"{item!r}: fedloom tables are numeric, so only numbers and the missing "
                        f"markers {sorted(MISSING_MARKERS)} can be listed"
                    ) from None
        return value


def run_data_transform(call: TaskCall) -> TaskResult:
    """DataTransform at the guest or a host: input ``data`` → data output ``data`` + model."""
    param = call.params
    assert isinstance(param, DataTransformParam)
    source, _ = load_table_with_meta(call.input("data", "data", "the Reader's output").path)
    if not param.need_run:
        out = save_table(call.output_dir / "data.npz", source, {"source": "DataTransform"})
        return TaskResult(data={"data": out}, metrics={"need_run": False})
    header, features, labels = list(source.header), source.features.copy(), None
    if param.with_label:
        if param.label_name not in header:
            raise ComponentError(
                f"DataTransform: no label column {param.label_name!r} (label_name) in the table; "
                f"its columns are {header}"
            )
        at = header.index(param.label_name)
        labels = features[:, at].copy()
        header.pop(at)
        features = np.delete(features, at, axis=1)
        _check_labels(source.ids, param.label_name, param.label_type, labels)

    missing = np.isnan(features) | _matches(features, param.missing_impute)
    missing_values: dict[str, float] = {}
    if missing.any():
        if not param.missing_fill:
            row, col = (int(v) for v in np.argwhere(missing)[0])
            raise ComponentError(
                f"DataTransform: column {header[col]!r} has a missing value at id "
                f"{source.ids[row]!r} (row {row + 1}); set missing_fill to fill missing values"
            )
        missing_values = _replace(
            features,
            missing,
            header,
            param.missing_fill_method,
            param.default_value,
            "default_value",
        )
    outlier_values: dict[str, float] = {}
    outliers = np.zeros_like(missing)
    if param.outlier_replace:
        outliers = _matches(features, param.outlier_impute)
        outlier_values = _replace(
            features,
            outliers,
            header,
            param.outlier_replace_method,
            param.outlier_replace_value,
            "outlier_replace_value",
        )
    _check_types(source.ids, header, features, param)

    table = Table(list(source.ids), header, features, labels)
    out = save_table(call.output_dir / "data.npz", table, {"source": "DataTransform"})
    model = {
        "module": "DataTransform",
        "header": header,
        "with_label": param.with_label,
        "label_name": param.label_name if param.with_label else None,
        "missing_fill_values": missing_values,
        "outlier_replace_values": outlier_values,
    }
    metrics = {
        "count": len(table),
        "features": len(header),
        "missing_filled": int(missing.sum()),
        "outliers_replaced": int(outliers.sum()),
    }
    return TaskResult(
        data={"data": out}, model=save_model(call.output_dir / "model.json", model), metrics=metrics
    )


def _matches(features: NDArray[np.float64], listed: list[Any] | None) -> NDArray[np.bool_]:
    """Cells equal to one of the numbers in ``listed`` (markers are NaN already)."""
    numbers = [
        float(v)
        for v in listed or []
        if not isinstance(v, str) or v.strip().lower() not in MISSING_MARKERS
    ]
    return np.isin(features, np.asarray(numbers, dtype=np.float64))


def _replace(
    features: NDArray[np.float64],
    mask: NDArray[np.bool_],
    header: list[str],
    method: str | None,
    value: float | int | list[float | int] | None,
    value_name: str,
) -> dict[str, float]:
    """Replace the masked cells in place, column by column; the value used for each column."""
    if isinstance(value, list) and len(value) != len(header):
        raise ComponentError(
            f"DataTransform: {value_name} lists {len(value)} values for {len(header)} features"
        )
    used: dict[str, float] = {}
    for j in np.flatnonzero(mask.any(axis=0)).tolist():
        kept = features[~mask[:, j], j]
        if method in (None, "designated"):
            fill = value[j] if isinstance(value, list) else value
            if fill is None:
                raise ComponentError(f"DataTransform: {value_name} is needed to fill {header[j]!r}")
            replacement = float(fill)
        elif kept.size == 0:
            raise ComponentError(
                f"DataTransform: column {header[j]!r} has no value to take a {method} of"
            )
        else:
            replacement = float(
                np.min(kept)
                if method == "min"
                else np.max(kept)
                if method == "max"
                else kept.mean()
            )
        features[mask[:, j], j] = replacement
        used[header[j]] = replacement
    return used


def _check_labels(ids: list[str], name: str, label_type: str, labels: NDArray[np.float64]) -> None:
    bad = np.flatnonzero(np.isnan(labels))
    if bad.size:
        row = int(bad[0])
        raise ComponentError(
            f"DataTransform: label {name!r} is missing at id {ids[row]!r} (row {row + 1})"
        )
    if label_type in ("int", "int64", "long"):
        bad = np.flatnonzero(labels != np.round(labels))
        if bad.size:
            row = int(bad[0])
            raise ComponentError(
                f"DataTransform: label {name!r} is {labels[row]} at id {ids[row]!r} "
                f"(row {row + 1}), not an integer (label_type {label_type!r})"
            )


def _check_types(
    ids: list[str], header: list[str], features: NDArray[np.float64], param: DataTransformParam
) -> None:
    exclusive = param.exclusive_data_type or {}
    for column in exclusive:
        if column not in header:
            raise ComponentError(f"DataTransform: exclusive_data_type names no feature {column!r}")
    for j, column in enumerate(header):
        if exclusive.get(column, param.data_type) in ("int", "int64", "long"):
            bad = np.flatnonzero(features[:, j] != np.round(features[:, j]))
            if bad.size:
                row = int(bad[0])
                raise ComponentError(
                    f"DataTransform: column {column!r} is {features[row, j]} at id {ids[row]!r} "
                    f"(row {row + 1}), not an integer (data_type)"
                )


DATA_TRANSFORM = ComponentDef(
    module="DataTransform",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=DataTransformParam,
    runners=same_runner(run_data_transform, PARTIES),
    data_inputs={"data": (1, 1)},
    outputs=frozenset({"data", "model"}),
)
"""The DataTransform module's declaration."""
