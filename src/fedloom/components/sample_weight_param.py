"""FATE's SampleWeightParam: names, defaults and the values fedloom accepts."""

from __future__ import annotations

from pydantic import StrictBool, StrictFloat, StrictInt, StrictStr, field_validator, model_validator

from fedloom.components.base import FateParam


class SampleWeightParam(FateParam):
    """FATE's SampleWeight parameters.

    ``class_weight``: ``"balanced"`` (``n / (classes · count)`` per class, FATE's and
    scikit-learn's rule) or ``{label: weight}`` (labels as FATE writes them, ``"0"``, ``"1"``;
    an unlisted class weighs 1). ``sample_weight_name``: a column of the guest's table holding
    each row's weight, taken out of the features; ``normalize`` divides those weights by their
    mean. FATE lets the column win when both are set and logs a warning; fedloom refuses the
    pair instead of ignoring ``class_weight``.
    """

    class_weight: StrictStr | dict[str, StrictFloat | StrictInt] | None = None
    sample_weight_name: StrictStr | None = None
    normalize: StrictBool = False
    need_run: StrictBool = True

    @field_validator("class_weight")
    @classmethod
    def _class_weight(
        cls, value: str | dict[str, float | int] | None
    ) -> str | dict[str, float | int] | None:
        if isinstance(value, str):
            if value.lower() != "balanced":
                raise ValueError(f"expected 'balanced' or {{label: weight}}, got {value!r}")
            return "balanced"
        for label, weight in (value or {}).items():
            try:
                float(label)
            except ValueError:
                raise ValueError(f"label {label!r} is not a number (labels are numeric)") from None
            if not 0 <= float(weight) < float("inf"):
                raise ValueError(f"the weight of label {label!r} must be finite and ≥ 0")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> SampleWeightParam:
        if self.class_weight is not None and self.sample_weight_name is not None:
            raise ValueError(
                "set class_weight or sample_weight_name, not both (FATE would silently "
                "ignore class_weight)"
            )
        if self.normalize and self.sample_weight_name is None:
            raise ValueError("normalize applies to the weights of sample_weight_name only")
        return self
