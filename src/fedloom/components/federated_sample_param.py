"""FATE's SampleParam (FederatedSample)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

from pydantic import StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from fedloom.components.base import FateParam, lower

Number = StrictInt | StrictFloat


class SampleParam(FateParam):
    """FATE's FederatedSample parameters.

    ``mode`` ``random``: ``fractions`` is one number, the share of all rows drawn;
    ``stratified``: a list of ``[label, fraction]`` pairs, one for every label value of the
    guest's rows. ``method`` ``downsample`` draws distinct rows (fractions ≤ 1), ``upsample``
    draws with replacement (any fraction > 0). ``random_state`` seeds the guest's draw.
    ``task_type`` ``hetero`` only: the guest draws, hosts follow.
    """

    mode: Literal["random", "stratified"] = "random"
    method: Literal["downsample", "upsample"] = "downsample"
    fractions: Number | list[list[Number]] | None = None
    random_state: StrictInt | None = None
    task_type: str = "hetero"
    need_run: StrictBool = True

    only_default: ClassVar[Mapping[str, str]] = {
        "task_type": "fedloom runs vertical (hetero) jobs; homo sampling is not implemented",
    }

    _lower = field_validator("mode", "method", "task_type", mode="before")(lower)

    @model_validator(mode="after")
    def _fractions(self) -> SampleParam:
        if not self.need_run:
            return self
        value = self.fractions
        if value is None:
            raise ValueError("fractions is required")
        if self.mode == "random":
            if isinstance(value, list):
                raise ValueError("random mode takes one fraction (a number)")
            self._check_rate(float(value))
            return self
        if not isinstance(value, list) or not value:
            raise ValueError("stratified mode takes a list of [label, fraction] pairs")
        labels = []
        for pair in value:
            if len(pair) != 2:
                raise ValueError("each element of fractions must be a [label, fraction] pair")
            labels.append(float(pair[0]))
            self._check_rate(float(pair[1]))
        if len(set(labels)) != len(labels):
            raise ValueError("a label appears twice in fractions")
        return self

    def _check_rate(self, rate: float) -> None:
        if not 0 < rate < float("inf"):
            raise ValueError(f"fractions must be positive, got {rate}")
        if self.method == "downsample" and rate > 1:
            raise ValueError(f"downsample fractions must be ≤ 1, got {rate}")

    def rates(self) -> float | dict[float, float]:
        """The fraction of all rows (random mode) or of each label value (stratified)."""
        assert self.fractions is not None
        if isinstance(self.fractions, list):
            return {float(label): float(rate) for label, rate in self.fractions}
        return float(self.fractions)
