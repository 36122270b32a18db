"""Population stability index: bins, empty bins, missing values, by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fedloom.ml.evaluation import ADJUST_VALUE, population_stability, quantile_split_points

pytestmark = pytest.mark.unit


def test_quantile_split_points() -> None:
    values = np.arange(1.0, 11.0)
    assert quantile_split_points(values, 4).tolist() == [3.0, 5.0, 8.0]
    assert quantile_split_points(values, 1).tolist() == []
    # few distinct values: fewer bins; the maximum is never a split point
    assert quantile_split_points([0, 0, 0, 1, 1, np.nan], 20).tolist() == [0.0]
    assert quantile_split_points([np.nan], 5).tolist() == []
    with pytest.raises(ValueError, match="max_bin_num"):
        quantile_split_points(values, 0)


def test_hand_computed_psi_with_empty_and_missing_bins() -> None:
    expected = np.arange(1.0, 11.0)
    actual = np.array([1, 1, 1, 2, 3, np.nan, 9, 10, 10, 10], dtype=float)
    report = population_stability(expected, actual, max_bin_num=4)
    assert report.intervals == ["(-inf, 3]", "(3, 5]", "(5, 8]", "(8, +inf)", "missing"]
    assert report.expected_count.tolist() == [3, 2, 3, 2, 0]
    assert report.actual_count.tolist() == [5, 0, 0, 4, 1]
    e = [0.3, 0.2, 0.3, 0.2, ADJUST_VALUE]
    a = [0.5, ADJUST_VALUE, ADJUST_VALUE, 0.4, 0.1]
    terms = [(ai - ei) * math.log(ai / ei) for ai, ei in zip(a, e, strict=True)]
    assert report.psi.tolist() == pytest.approx(terms)
    assert report.total_psi == pytest.approx(sum(terms))
    assert report.expected_percentage.tolist() == pytest.approx([0.3, 0.2, 0.3, 0.2, 0.0])
    json.dumps(report.to_dict(), allow_nan=False)


def test_same_distribution_scores_zero_and_shift_scores_more() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=5000)
    assert population_stability(base, base).total_psi == 0.0
    small = population_stability(base, rng.normal(size=5000)).total_psi
    shifted = population_stability(base, rng.normal(0.5, 1.0, size=5000)).total_psi
    assert small < 0.02 < 0.1 < shifted
    assert len(population_stability(base, base).intervals) == 20


def test_given_split_points_and_bad_input() -> None:
    report = population_stability([1, 2, 3], [3, 4, 5], split_points=[2.0])
    assert report.expected_count.tolist() == [2, 1] and report.actual_count.tolist() == [0, 3]
    with pytest.raises(ValueError, match="strictly ascending"):
        population_stability([1, 2], [1, 2], split_points=[2.0, 1.0])
    with pytest.raises(ValueError, match="infinite"):
        population_stability([1, np.inf], [1, 2])
