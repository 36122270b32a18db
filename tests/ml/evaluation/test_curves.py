"""Quantile curves (precision/recall, lift, gain), checked by hand and against scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from fedloom.ml.evaluation import quantile_curve, quantile_thresholds

pytestmark = pytest.mark.unit


def test_hand_computed_curve() -> None:
    y = [0, 1, 1, 0, 1]
    scores = [0.1, 0.9, 0.8, 0.3, 0.5]
    curve = quantile_curve(y, scores, n_points=5)
    assert curve.thresholds.tolist() == [0.9, 0.8, 0.5, 0.3, 0.1]
    assert curve.depth.tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert curve.precision.tolist() == pytest.approx([1, 1, 1, 0.75, 0.6])
    assert curve.recall.tolist() == pytest.approx([1 / 3, 2 / 3, 1, 1, 1])
    # lift = precision / base rate (3/5)
    assert curve.lift.tolist() == pytest.approx([5 / 3, 5 / 3, 5 / 3, 1.25, 1.0])
    assert curve.gain_dict()["y"] == curve.recall.tolist()
    assert curve.lift_dict()["x"] == curve.depth.tolist()
    pr = curve.pr_dict()
    assert pr["x"] == pr["recall"] and pr["y"] == pr["precision"]
    json.dumps(pr, allow_nan=False)


def test_thresholds_are_the_scores_at_each_quantile_rank_ties_once() -> None:
    scores = np.array([5.0, 5.0, 5.0, 1.0, 2.0, 3.0, 4.0, 0.0])
    # 4 steps of 2 rows: ranks 2, 4, 6, 8 from the top of 5,5,5,4,3,2,1,0
    assert quantile_thresholds(scores, 4).tolist() == [5.0, 4.0, 2.0, 0.0]
    assert quantile_thresholds(scores, 100).tolist() == [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="n_points"):
        quantile_thresholds(scores, 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_precision_recall_match_sklearn_at_every_threshold(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=500)
    scores = np.round(rng.random(500) * 0.5 + 0.4 * y, 2)  # ties
    curve = quantile_curve(y, scores)
    assert 1 < curve.thresholds.size <= 100
    assert np.all(np.diff(curve.thresholds) < 0)
    for t, p, r in zip(curve.thresholds, curve.precision, curve.recall, strict=True):
        predicted = (scores >= t).astype(int)
        assert p == pytest.approx(skm.precision_score(y, predicted))
        assert r == pytest.approx(skm.recall_score(y, predicted))
    assert curve.recall[-1] == 1.0 and curve.depth[-1] == 1.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one positive"):
        quantile_curve([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="y must be 0 or 1"):
        quantile_curve([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="same length"):
        quantile_curve([0, 1], [0.1])
