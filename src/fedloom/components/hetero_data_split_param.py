"""FATE's DataSplitParam (HeteroDataSplit)."""

from __future__ import annotations

from pydantic import StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from fedloom.components.base import FateParam

Size = StrictInt | StrictFloat | None


class DataSplitParam(FateParam):
    """FATE's HeteroDataSplit parameters (names and defaults as FATE's).

    ``train_size`` / ``validate_size`` / ``test_size``: fractions (floats in [0, 1]) or row
    counts (ints), not mixed; none given means 0.8 / 0.2 / 0 (see
    :func:`fedloom.ml.sampling.split_sizes` for what the ones not given get).
    ``stratified`` splits each label value (or, with ``split_points``, each bin of a
    continuous label) in the same proportions; it needs ``shuffle``. ``random_state`` seeds
    the guest's draw.
    """

    random_state: StrictInt | None = None
    test_size: Size = None
    train_size: Size = None
    validate_size: Size = None
    stratified: StrictBool = False
    shuffle: StrictBool = True
    split_points: list[StrictInt | StrictFloat] | None = None
    need_run: StrictBool = True

    @field_validator("random_state")
    @classmethod
    def _seed(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError("must be a non-negative integer")
        return value

    @field_validator("test_size", "train_size", "validate_size")
    @classmethod
    def _size(cls, value: float | int | None) -> float | int | None:
        if value is None:
            return None
        if value < 0 or (isinstance(value, float) and value > 1):
            raise ValueError("must be a fraction in [0, 1] (float) or a row count ≥ 0 (int)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DataSplitParam:
        kinds = {type(s) for s in (self.train_size, self.validate_size, self.test_size)}
        if {int, float} <= kinds:
            raise ValueError("the sizes mix fractions (floats) and row counts (ints)")
        if self.stratified and not self.shuffle:
            raise ValueError("a stratified split needs shuffle true (as scikit-learn's)")
        if self.split_points is not None and not self.stratified:
            raise ValueError("split_points bin the label for a stratified split: set stratified")
        return self
