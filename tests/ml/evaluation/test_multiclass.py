"""Multi-class metrics of predicted classes (one-vs-rest models)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from fedloom.ml.evaluation import multiclass_metrics, multiclass_report

pytestmark = pytest.mark.unit


def test_accuracy_and_macro_precision_recall() -> None:
    y = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]
    predicted = [0.0, 1.0, 1.0, 1.0, 2.0, 0.0]
    report = multiclass_metrics(y, predicted)
    assert report["count"] == 6 and report["accuracy"] == pytest.approx(4 / 6)
    assert report["per_class"]["0"] == {"precision": 0.5, "recall": 0.5}
    assert report["per_class"]["1"] == {"precision": pytest.approx(2 / 3), "recall": 1.0}
    assert report["per_class"]["2"] == {"precision": 1.0, "recall": 0.5}
    assert report["precision"] == pytest.approx((0.5 + 2 / 3 + 1.0) / 3)
    assert report["recall"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)


def test_a_class_never_predicted_or_present_counts_zero() -> None:
    report = multiclass_metrics([0.0, 1.0], [0.0, 3.5])
    assert report["per_class"]["3.5"] == {"precision": 0.0, "recall": 0.0}
    assert report["per_class"]["1"] == {"precision": 0.0, "recall": 0.0}


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="same length"):
        multiclass_metrics([0.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="predicted must be finite"):
        multiclass_metrics([0.0, 1.0], [0.0, float("nan")])


def test_report_adds_micro_averages_and_counts_as_sklearn() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 4, size=200).astype(float)
    predicted = np.where(rng.random(200) < 0.6, y, rng.integers(0, 4, size=200)).astype(float)
    report = multiclass_report(y, predicted)
    assert report["classes"] == ["0", "1", "2", "3"]
    assert report["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted))
    for average in ("macro", "micro"):
        key = "" if average == "macro" else "_micro"
        assert report[f"precision{key}"] == pytest.approx(
            skm.precision_score(y, predicted, average=average)
        )
        assert report[f"recall{key}"] == pytest.approx(
            skm.recall_score(y, predicted, average=average)
        )
    per_class = skm.precision_score(y, predicted, average=None)
    for c in range(4):
        entry = report["per_class"][str(c)]
        assert entry["precision"] == pytest.approx(per_class[c])
        assert entry["support"] == int(np.sum(y == c))
        assert entry["predicted"] == int(np.sum(predicted == c))
