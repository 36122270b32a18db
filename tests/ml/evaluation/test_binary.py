"""Tests for fedloom.ml.evaluation.binary, checked against scikit-learn and hand computations."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from fedloom.ml.evaluation import (
    BinaryReport,
    auc,
    confusion_at,
    evaluate_binary,
    ks,
    ks_curve,
    lift_gain_table,
    roc_curve,
)

pytestmark = pytest.mark.unit


def _random_case(seed: int, decimals: int | None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=500)
    scores = np.clip(0.3 * y + rng.normal(0.35, 0.25, size=500), 0.0, 1.0)
    if decimals is not None:
        scores = np.round(scores, decimals)
    return y, scores


CASES = [(seed, decimals) for seed in (0, 1, 2) for decimals in (None, 1, 0)]


@pytest.mark.parametrize(("seed", "decimals"), CASES)
def test_auc_matches_sklearn_including_ties(seed: int, decimals: int | None) -> None:
    y, scores = _random_case(seed, decimals)
    assert auc(y, scores) == pytest.approx(skm.roc_auc_score(y, scores), abs=1e-12)


@pytest.mark.parametrize(("seed", "decimals"), CASES)
def test_roc_curve_matches_sklearn_without_dropping_points(seed: int, decimals: int | None) -> None:
    y, scores = _random_case(seed, decimals)
    expected_fpr, expected_tpr, expected_thresholds = skm.roc_curve(
        y, scores, drop_intermediate=False
    )
    curve = roc_curve(y, scores)
    np.testing.assert_allclose(curve.fpr, expected_fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(curve.tpr, expected_tpr, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(curve.thresholds, expected_thresholds)
    assert curve.thresholds[0] == math.inf
    assert np.all(np.diff(curve.thresholds) < 0)


@pytest.mark.parametrize(("seed", "decimals"), CASES)
def test_ks_is_max_gap_of_sklearn_roc(seed: int, decimals: int | None) -> None:
    y, scores = _random_case(seed, decimals)
    fpr, tpr, thresholds = skm.roc_curve(y, scores, drop_intermediate=False)
    expected_ks = float(np.max(tpr - fpr))
    first_best = int(np.flatnonzero(tpr - fpr >= expected_ks - 1e-12)[0])
    curve = ks_curve(y, scores)
    assert ks(y, scores) == pytest.approx(expected_ks, abs=1e-12)
    assert curve.ks == ks(y, scores)
    assert curve.threshold_at_ks == thresholds[first_best]
    np.testing.assert_allclose(curve.ks_values, tpr - fpr, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("seed", "decimals"), CASES)
def test_auc_equals_trapezoid_area_under_own_roc(seed: int, decimals: int | None) -> None:
    y, scores = _random_case(seed, decimals)
    curve = roc_curve(y, scores)
    area = float(np.sum(np.diff(curve.fpr) * (curve.tpr[1:] + curve.tpr[:-1]) / 2))
    assert auc(y, scores) == pytest.approx(area, abs=1e-12)


def test_perfect_classifier_scores_one() -> None:
    y = [0, 0, 1, 0, 1, 1]
    scores = [0.1, 0.2, 0.7, 0.3, 0.9, 0.8]
    assert auc(y, scores) == 1.0
    assert ks(y, scores) == 1.0
    assert ks_curve(y, scores).threshold_at_ks == 0.7


def test_inverted_classifier_scores_zero() -> None:
    y = [1, 1, 0, 1, 0, 0]
    scores = [0.1, 0.2, 0.7, 0.3, 0.9, 0.8]
    assert auc(y, scores) == 0.0
    assert ks(y, scores) == 0.0
    assert ks_curve(y, scores).threshold_at_ks == math.inf


def test_all_scores_tied_gives_chance_auc_and_zero_ks() -> None:
    y = [1, 0, 1, 0, 0]
    scores = [0.4] * 5
    assert auc(y, scores) == 0.5
    assert ks(y, scores) == 0.0
    curve = roc_curve(y, scores)
    np.testing.assert_array_equal(curve.thresholds, [math.inf, 0.4])
    np.testing.assert_array_equal(curve.fpr, [0.0, 1.0])
    np.testing.assert_array_equal(curve.tpr, [0.0, 1.0])


def test_auc_counts_tied_pairs_as_half() -> None:
    # Pairs (pos, neg): (.8,.8)=1/2, (.8,.3)=1, (.5,.8)=0, (.5,.3)=1 -> 2.5 / 4.
    assert auc([1, 0, 1, 0], [0.8, 0.8, 0.5, 0.3]) == pytest.approx(0.625)


def test_ks_curve_hand_computed() -> None:
    y = [0, 1, 0, 1, 0, 1]
    scores = [0.5, 0.8, 0.1, 0.6, 0.7, 0.9]
    curve = ks_curve(y, scores)
    np.testing.assert_array_equal(curve.thresholds, [math.inf, 0.9, 0.8, 0.7, 0.6, 0.5, 0.1])
    np.testing.assert_allclose(curve.tpr, [0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1])
    np.testing.assert_allclose(curve.fpr, [0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(curve.ks_values, [0, 1 / 3, 2 / 3, 1 / 3, 2 / 3, 1 / 3, 0])
    assert curve.ks == pytest.approx(2 / 3)
    assert curve.threshold_at_ks == 0.8


def test_ks_hand_computed_with_ties() -> None:
    # Thresholds inf, .8, .3: (tpr, fpr) = (0, 0), (1/2, 1/2), (1, 1).
    assert ks([1, 0, 1, 0], [0.8, 0.8, 0.3, 0.3]) == 0.0
    # Thresholds inf, .8, .3: (0, 0), (1, 1/2), (1, 1).
    assert ks([1, 0, 1, 0], [0.8, 0.8, 0.8, 0.3]) == 0.5


def test_curve_arrays_are_read_only() -> None:
    curve = ks_curve([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.3])
    for array in (curve.thresholds, curve.tpr, curve.fpr, curve.ks_values):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0.5


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.62, 0.8])
@pytest.mark.parametrize("seed", [0, 1])
def test_confusion_matches_sklearn(threshold: float, seed: int) -> None:
    y, scores = _random_case(seed, 2)
    predicted = (scores >= threshold).astype(int)
    result = confusion_at(y, scores, threshold)
    tn, fp, fn, tp = skm.confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    assert (result.tp, result.fp, result.tn, result.fn) == (tp, fp, tn, fn)
    assert result.accuracy == pytest.approx(skm.accuracy_score(y, predicted))
    assert result.precision == pytest.approx(skm.precision_score(y, predicted))
    assert result.recall == pytest.approx(skm.recall_score(y, predicted))
    assert result.f1 == pytest.approx(skm.f1_score(y, predicted))
    assert result.threshold == threshold


def test_confusion_predicts_one_at_exactly_the_threshold() -> None:
    result = confusion_at([1, 0, 1, 0], [0.5, 0.5, 0.49, 0.1], threshold=0.5)
    assert (result.tp, result.fp, result.tn, result.fn) == (1, 1, 1, 1)
    assert result.precision == 0.5
    assert result.recall == 0.5
    assert result.f1 == 0.5
    assert result.accuracy == 0.5


def test_confusion_zero_denominators_give_zero() -> None:
    y = [1, 0, 1, 0]
    scores = [0.1, 0.2, 0.3, 0.4]
    result = confusion_at(y, scores, threshold=0.9)
    predicted = [0, 0, 0, 0]
    assert (result.tp, result.fp, result.tn, result.fn) == (0, 0, 2, 2)
    assert result.precision == skm.precision_score(y, predicted, zero_division=0) == 0.0
    assert result.f1 == skm.f1_score(y, predicted, zero_division=0) == 0.0
    assert result.recall == 0.0
    assert result.accuracy == 0.5


def test_confusion_with_no_positive_labels() -> None:
    result = confusion_at([0, 0, 0], [0.9, 0.1, 0.6])
    assert (result.tp, result.fp, result.tn, result.fn) == (0, 2, 1, 0)
    assert (result.precision, result.recall, result.f1) == (0.0, 0.0, 0.0)
    assert result.accuracy == pytest.approx(1 / 3)


def test_lift_gain_table_hand_computed() -> None:
    # Sorted by score: labels 1,0,1,1 | 0,0,0 | 1,0,0 (array_split sizes 4, 3, 3).
    labels_by_rank = [1, 0, 1, 1, 0, 0, 0, 1, 0, 0]
    scores_by_rank = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]
    permutation = [3, 7, 0, 9, 5, 1, 8, 2, 6, 4]
    y = [labels_by_rank[i] for i in permutation]
    scores = [scores_by_rank[i] for i in permutation]

    rows = lift_gain_table(y, scores, n_bins=3)

    assert [row.bin for row in rows] == [1, 2, 3]
    assert [row.count for row in rows] == [4, 3, 3]
    assert [row.positives for row in rows] == [3, 0, 1]
    assert [row.cumulative_count for row in rows] == [4, 7, 10]
    assert [row.cumulative_positives for row in rows] == [3, 3, 4]
    assert [row.positive_rate for row in rows] == pytest.approx([0.75, 0.0, 1 / 3])
    assert [row.lift for row in rows] == pytest.approx([1.875, 0.0, (1 / 3) / 0.4])
    assert [row.cumulative_gain for row in rows] == pytest.approx([0.75, 0.75, 1.0])
    assert [row.cumulative_lift for row in rows] == pytest.approx([1.875, (3 / 7) / 0.4, 1.0])


def test_lift_gain_table_ties_keep_input_order() -> None:
    rows = lift_gain_table([0, 1, 1, 0], [0.5, 0.5, 0.2, 0.9], n_bins=4)
    assert [row.positives for row in rows] == [0, 0, 1, 1]


@pytest.mark.parametrize("n_bins", [1, 7, 10, 500])
def test_lift_gain_table_totals(n_bins: int) -> None:
    y, scores = _random_case(3, 1)
    rows = lift_gain_table(y, scores, n_bins=n_bins)
    assert len(rows) == n_bins
    assert sum(row.count for row in rows) == len(y)
    assert sum(row.positives for row in rows) == int(np.sum(y))
    assert max(row.count for row in rows) - min(row.count for row in rows) <= 1
    assert rows[-1].cumulative_gain == pytest.approx(1.0)
    assert rows[-1].cumulative_lift == pytest.approx(1.0)


def test_lift_gain_table_all_positive_has_unit_lift() -> None:
    rows = lift_gain_table([1, 1, 1, 1], [0.4, 0.3, 0.2, 0.1], n_bins=2)
    assert [row.lift for row in rows] == [1.0, 1.0]
    assert [row.cumulative_gain for row in rows] == [0.5, 1.0]


def test_inputs_may_be_lists_bools_or_integer_arrays() -> None:
    y = [True, False, True, False]
    scores = [3, 1, 2, 2]
    expected = auc([1.0, 0.0, 1.0, 0.0], [3.0, 1.0, 2.0, 2.0])
    assert auc(y, scores) == expected
    assert auc(np.array(y), np.array(scores, dtype=np.int64)) == expected
    assert expected == pytest.approx(0.875)


def _assert_json_builtins(value: Any) -> None:
    if isinstance(value, dict):
        assert all(isinstance(key, str) for key in value)
        for item in value.values():
            _assert_json_builtins(item)
    elif isinstance(value, list):
        for item in value:
            _assert_json_builtins(item)
    else:
        assert value is None or type(value) in (int, float), type(value)


def test_evaluate_binary_bundles_individual_metrics() -> None:
    y, scores = _random_case(4, 1)
    report = evaluate_binary(y, scores, threshold=0.4, n_bins=5)
    assert isinstance(report, BinaryReport)
    assert report.n == len(y)
    assert report.n_positive == int(np.sum(y))
    assert report.auc == auc(y, scores)
    assert report.ks == ks(y, scores)
    assert report.confusion == confusion_at(y, scores, 0.4)
    assert list(report.lift_table) == lift_gain_table(y, scores, 5)
    np.testing.assert_array_equal(report.roc.tpr, roc_curve(y, scores).tpr)
    np.testing.assert_array_equal(report.ks_curve.ks_values, ks_curve(y, scores).ks_values)


def test_evaluate_binary_to_dict_is_strict_json() -> None:
    y, scores = _random_case(5, 1)
    report = evaluate_binary(y, scores, n_bins=4)
    data = report.to_dict()
    _assert_json_builtins(data)
    decoded = json.loads(json.dumps(data, allow_nan=False))
    assert decoded["roc"]["thresholds"][0] is None
    assert decoded["ks_curve"]["thresholds"][0] is None
    assert decoded["roc"]["thresholds"][1:] == pytest.approx(list(report.roc.thresholds[1:]))
    assert decoded["auc"] == report.auc
    assert decoded["confusion"]["tp"] == report.confusion.tp
    assert decoded["ks_curve"]["threshold_at_ks"] == report.ks_curve.threshold_at_ks
    assert len(decoded["lift_table"]) == 4
    assert decoded["lift_table"][0]["bin"] == 1


def test_ks_curve_to_dict_renders_infinite_best_threshold_as_none() -> None:
    data = ks_curve([1, 0], [0.1, 0.9]).to_dict()
    assert data["threshold_at_ks"] is None
    assert data["ks"] == 0.0


ALL_CHECKED = [auc, ks, roc_curve, ks_curve, confusion_at, lift_gain_table, evaluate_binary]


@pytest.mark.parametrize("func", ALL_CHECKED)
def test_rejects_different_lengths(func: Any) -> None:
    with pytest.raises(ValueError, match=r"y and scores must have the same length; got 3 and 2"):
        func([0, 1, 0], [0.1, 0.2])


@pytest.mark.parametrize("func", ALL_CHECKED)
def test_rejects_empty_input(func: Any) -> None:
    with pytest.raises(ValueError, match="y is empty"):
        func([], [])
    with pytest.raises(ValueError, match="scores is empty"):
        func([0, 1], np.array([]))


@pytest.mark.parametrize("func", ALL_CHECKED)
@pytest.mark.parametrize(
    ("bad", "pattern"),
    [
        (math.nan, r"scores must be finite; found nan at index 2"),
        (math.inf, r"scores must be finite; found inf at index 2"),
        (-math.inf, r"scores must be finite; found -inf at index 2"),
    ],
)
def test_rejects_non_finite_scores(func: Any, bad: float, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        func([0, 1, 0, 1], [0.1, 0.2, bad, math.nan])


@pytest.mark.parametrize("func", ALL_CHECKED)
@pytest.mark.parametrize(
    ("bad", "pattern"),
    [
        (2, r"only the labels 0 and 1; found 2\.0 at index 1"),
        (-1, r"only the labels 0 and 1; found -1\.0 at index 1"),
        (0.5, r"only the labels 0 and 1; found 0\.5 at index 1"),
        (math.nan, r"only the labels 0 and 1; found nan at index 1"),
    ],
)
def test_rejects_labels_outside_zero_one(func: Any, bad: float, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        func([0, bad, 1, 7], [0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize("func", [auc, ks, roc_curve, ks_curve, evaluate_binary])
@pytest.mark.parametrize("label", [0, 1])
def test_rejects_single_class(func: Any, label: int) -> None:
    name = func.__name__
    pattern = rf"{name} is undefined when y contains only one class \(every label is {label}\)"
    with pytest.raises(ValueError, match=pattern):
        func([label] * 3, [0.1, 0.5, 0.9])


@pytest.mark.parametrize("func", ALL_CHECKED)
def test_rejects_two_dimensional_input(func: Any) -> None:
    with pytest.raises(ValueError, match=r"scores must be one-dimensional; got shape \(2, 1\)"):
        func([0, 1], [[0.1], [0.2]])


@pytest.mark.parametrize("func", ALL_CHECKED)
def test_rejects_non_numeric_input(func: Any) -> None:
    with pytest.raises(ValueError, match="scores must be numeric"):
        func([0, 1], ["high", "low"])


@pytest.mark.parametrize("func", [lift_gain_table, evaluate_binary])
@pytest.mark.parametrize("n_bins", [0, -1, 5])
def test_rejects_n_bins_out_of_range(func: Any, n_bins: int) -> None:
    pattern = rf"n_bins must be between 1 and the number of samples \(4\); got {n_bins}"
    with pytest.raises(ValueError, match=pattern):
        func([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], n_bins=n_bins)


@pytest.mark.parametrize("n_bins", [1.5, True, "3"])
def test_rejects_non_integer_n_bins(n_bins: Any) -> None:
    with pytest.raises(ValueError, match="n_bins must be an integer"):
        lift_gain_table([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], n_bins=n_bins)


def test_accepts_numpy_integer_n_bins() -> None:
    assert len(lift_gain_table([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], n_bins=np.int64(2))) == 2


def test_lift_gain_table_rejects_no_positives() -> None:
    with pytest.raises(ValueError, match="at least one positive label"):
        lift_gain_table([0, 0, 0], [0.1, 0.2, 0.3], n_bins=3)


@pytest.mark.parametrize("func", [confusion_at, evaluate_binary])
@pytest.mark.parametrize("threshold", [math.nan, math.inf, -math.inf])
def test_rejects_non_finite_threshold(func: Any, threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        func([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], threshold=threshold)
