"""Multi-class metrics of predicted classes (one-vs-rest models)."""

from __future__ import annotations

import pytest

from fedloom.ml.evaluation import multiclass_metrics

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
