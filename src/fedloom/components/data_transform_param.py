"""FATE's DataTransformParam: names, defaults and the values fedloom accepts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

from pydantic import StrictBool, StrictFloat, StrictInt, StrictStr, field_validator

from fedloom.components.base import FateParam, lower, supported
from fedloom.data import MISSING_MARKERS

Number = StrictInt | StrictFloat
FillMethod = Literal["min", "max", "mean", "designated"]
NUMERIC_TYPES = ("float64", "float", "int", "int64", "long")
"""``data_type`` / ``label_type`` values fedloom reads (its tables are numeric)."""
INTEGER_TYPES = ("int", "int64", "long")
"""The integer types among them."""
_NO_STR = {"str": "fedloom tables are numeric; string columns are not supported"}


class DataTransformParam(FateParam):
    """FATE's DataTransform parameters (FATE names and defaults).

    ``input_format``, ``delimitor``, ``tag_with_value`` and ``tag_value_delimitor`` describe the
    table; left unset they come from the table's upload meta, and set they must agree with it.
    ``with_label`` / ``label_name`` / ``label_type`` likewise default to the upload meta (for a
    sparse or tag table the label is part of each row's layout, so they must agree with it).
    """

    input_format: str = "dense"
    delimitor: StrictStr = ","
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

    @field_validator("input_format")
    @classmethod
    def _input_format(cls, value: str) -> str:
        return supported(value, ("dense", "sparse", "tag"), {})

    @field_validator("output_format")
    @classmethod
    def _output_format(cls, value: str) -> str:
        """FATE's ``output_format`` picks the in-memory form of the instances (sparse vectors
        for wide sparse data). fedloom's data artifacts are dense matrices whatever the input
        format, so ``"sparse"`` gives the same values to every downstream module as
        ``"dense"``; it is accepted so FATE's sparse job files run unchanged."""
        return supported(value, ("dense", "sparse"), {})

    @field_validator("delimitor", "tag_value_delimitor")
    @classmethod
    def _one_char(cls, value: str) -> str:
        if len(value) != 1 or value in '"\r\n':
            raise ValueError(f"must be one character (not a quote or line break), got {value!r}")
        return value

    @field_validator("data_type", "label_type")
    @classmethod
    def _numeric(cls, value: str) -> str:
        return supported(value, NUMERIC_TYPES, _NO_STR)

    @field_validator("exclusive_data_type")
    @classmethod
    def _exclusive(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {col: supported(t.lower(), NUMERIC_TYPES, _NO_STR) for col, t in value.items()}

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
