"""fedloom.ml.transforms: scaling bounds and states, one-hot values, fill values, label maps."""

from __future__ import annotations

import numpy as np
import pytest

from fedloom.ml.transforms.imputation import apply_fill, fill_value, missing_mask, missing_ratio
from fedloom.ml.transforms.label import UnknownLabel, encode, inverse, learn_encoder
from fedloom.ml.transforms.onehot import EncodeError, fit_values, value_name
from fedloom.ml.transforms.onehot import encode as one_hot
from fedloom.ml.transforms.scale import (
    ColumnScale,
    apply_scale,
    bounds,
    fit_min_max,
    fit_standard,
)

pytestmark = pytest.mark.unit

RNG = np.random.default_rng(3)
X = RNG.normal(size=(50, 4)) * [1, 10, 100, 0.1] + [0, 5, -3, 2]


def test_min_max_matches_the_definition() -> None:
    low, high = bounds(X, "normal", [None] * 4, [None] * 4)
    np.testing.assert_array_equal(low, X.min(axis=0))
    out = apply_scale(X, "min_max_scale", fit_min_max(X, low, high))
    np.testing.assert_allclose(out, (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0)))
    assert out.min() == 0 and out.max() == 1


def test_standard_scale_matches_numpy() -> None:
    low, high = bounds(X, "normal", [None] * 4, [None] * 4)
    state = fit_standard(X, low, high, True, True)
    np.testing.assert_allclose(apply_scale(X, "standard_scale", state), (X - X.mean(0)) / X.std(0))
    assert [s.std for s in fit_standard(X, low, high, True, False)] == [1.0] * 4
    assert [s.mean for s in fit_standard(X, low, high, False, True)] == [0.0] * 4


def test_a_bound_beyond_the_data_moves_both_ends() -> None:
    x = np.array([[1.0], [2.0]])
    low, high = bounds(x, "normal", [0.5], [None])
    assert (low[0], high[0]) == (0.5, 0.5)
    low, high = bounds(x, "normal", [None], [3.0])
    assert (low[0], high[0]) == (3.0, 3.0)


def test_cap_bounds_are_data_quantiles_and_nan_is_kept() -> None:
    x = np.array([[1.0], [2.0], [np.nan], [3.0], [4.0]])
    low, high = bounds(x, "cap", [0.5], [None])
    assert (low[0], high[0]) == (1.0, 2.0)
    out = apply_scale(x, "min_max_scale", fit_min_max(x, low, high))
    assert np.isnan(out[2, 0]) and out[4, 0] == 1.0
    with pytest.raises(ValueError, match="no value"):
        bounds(np.array([[np.nan]]), "normal", [None], [None])


def test_apply_refuses_inconsistent_states() -> None:
    with pytest.raises(ValueError, match="upper bound is below"):
        apply_scale(X[:, :1], "min_max_scale", [ColumnScale(0.0, 1.0, 0.0, 0.0)])
    with pytest.raises(ValueError, match="2 fitted columns"):
        apply_scale(X[:, :1], "min_max_scale", [ColumnScale(1.0, 0.0, 0.0, 0.0)] * 2)


def test_one_hot_values_and_unknowns() -> None:
    column = np.array([3.0, -1.0, 3.0, 0.0])
    assert fit_values(column) == [-1, 0, 3]
    assert value_name("x", -1) == "x_-1"
    encoded = one_hot(np.array([0.0, 7.0, np.nan]), [-1, 0, 3])
    assert encoded.tolist() == [[0, 1, 0], [0, 0, 0], [0, 0, 0]]
    with pytest.raises(EncodeError) as info:
        fit_values(np.array([1.0, 2.5]))
    assert info.value.row == 1
    with pytest.raises(EncodeError, match="more than the limit of 2"):
        fit_values(np.array([1.0, 2.0, 3.0]), limit=2)


def test_fill_values_and_application() -> None:
    x = np.array([[1.0, np.nan], [-9.0, 4.0], [3.0, 8.0], [np.nan, 9.0]])
    mask = missing_mask(x, [-9.0])
    assert mask.sum() == 3 and missing_ratio(mask).tolist() == [0.5, 0.25]
    assert fill_value(x[:, 0], mask[:, 0], "mean", None) == 2.0
    assert fill_value(x[:, 1], mask[:, 1], "median", None) == 8.0
    assert fill_value(x[:, 1], mask[:, 1], "designated", 5) == 5.0
    filled = apply_fill(x, mask, [0.0, None])
    assert filled[:, 0].tolist() == [1, 0, 3, 0] and np.isnan(filled[0, 1])
    with pytest.raises(ValueError, match="no present value"):
        fill_value(np.array([np.nan]), np.array([True]), "min", None)


def test_label_maps() -> None:
    labels = np.array([5.0, 2.0, 5.0])
    encoder = learn_encoder(labels)
    assert encoder == {2.0: 0.0, 5.0: 1.0}
    assert encode(labels, encoder).tolist() == [1, 0, 1]
    assert inverse(encoder) == {0.0: 2.0, 1.0: 5.0}
    with pytest.raises(UnknownLabel) as info:
        encode(np.array([2.0, 7.0]), encoder)
    assert info.value.row == 1
    with pytest.raises(ValueError, match="cannot be reversed"):
        inverse({1.0: 0.0, 2.0: 0.0})
