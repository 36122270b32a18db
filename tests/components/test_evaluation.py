"""Evaluation: FATE's binary, multi-class and regression metrics of prediction tables, psi
between a model's train and validate scores, curves as JSON data; checked against sklearn."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from fedloom.components import ComponentError, InputArtifact, TaskResult, run_task, save_table
from fedloom.data import Table
from fedloom.federation import Context, InMemoryTransport, JobParties, Messenger, Party
from fedloom.ml.evaluation import population_stability

pytestmark = pytest.mark.unit


def context(role: str = "guest", party_id: int = 9999) -> Context:
    """A context for a task that talks to no peer."""
    parties = JobParties.of(guest=9999, hosts=[10000], arbiter=10001)
    local = Party(role, party_id)  # type: ignore[arg-type]
    messenger = Messenger(InMemoryTransport(), "job", local)
    return Context(local=local, parties=parties, messenger=messenger).sub("evaluation_0")


def binary_table(
    path: Path, seed: int, rows: int = 300, producer: str = "lr_0", kind: str = "train"
) -> tuple[Path, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A binary prediction table as HeteroLR writes it; returns its path, labels and scores."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=rows).astype(float)
    scores = np.clip(rng.random(rows) * 0.7 + 0.3 * labels, 0.0, 1.0)
    table = Table(
        [f"i{i}" for i in range(rows)],
        ["predict_result", "predict_score"],
        np.c_[scores >= 0.5, scores],
        labels,
    )
    meta = {"producer": producer, "type": kind, "threshold": 0.5}
    return save_table(path, table, meta), labels, scores


def multi_table(
    path: Path, rows: int = 240
) -> tuple[Path, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A one-vs-rest prediction table (classes 0, 1, 2) with predict_detail per row."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, size=rows).astype(float)
    raw = rng.random((rows, 3)) + 0.8 * np.eye(3)[labels.astype(int)]
    best = raw.argmax(axis=1)
    details = [json.dumps({str(c): float(raw[i, c]) for c in range(3)}) for i in range(rows)]
    table = Table(
        [f"i{i}" for i in range(rows)],
        ["predict_result", "predict_score"],
        np.c_[best.astype(float), raw.max(axis=1)],
        labels,
    )
    meta = {
        "producer": "lr_0",
        "type": "train",
        "classes": ["0", "1", "2"],
        "predict_detail": details,
    }
    return save_table(path, table, meta), labels, raw


def evaluate(tmp_path: Path, params: dict[str, Any], *paths: Path) -> TaskResult:
    inputs = {
        ("data" if i == 0 else f"data_{i}"): InputArtifact("data", p) for i, p in enumerate(paths)
    }
    return run_task("Evaluation", "guest", 9999, context(), params, inputs, tmp_path / "out")


def test_binary_defaults_are_fates_and_curves_are_json_data(tmp_path: Path) -> None:
    path, y, s = binary_table(tmp_path / "p.npz", 1)
    result = evaluate(tmp_path, {}, path).metrics["lr_0"]["train"]
    json.dumps(result, allow_nan=False)
    assert set(result) == {
        "count",
        "positives",
        "auc",
        "ks",
        "ks_curve",
        "lift",
        "gain",
        "accuracy",
        "precision",
        "recall",
        "roc",
        "confusion_mat",
        "f1_score",
    }  # psi: no validate table; quantile_pr: asked for by name
    assert result["auc"] == pytest.approx(skm.roc_auc_score(y, s))
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    assert result["roc"]["x"] == pytest.approx(fpr.tolist())
    assert result["roc"]["y"] == pytest.approx(tpr.tolist())
    assert result["roc"]["thresholds"][0] is None  # +inf
    assert result["ks"] == pytest.approx(max(tpr - fpr))
    predicted = (s >= 0.5).astype(int)
    assert result["precision"] == pytest.approx(skm.precision_score(y, predicted))
    assert result["f1_score"] == pytest.approx(skm.f1_score(y, predicted))
    _, _, fn, tp = skm.confusion_matrix(y, predicted).ravel()
    assert (result["confusion_mat"]["tp"], result["confusion_mat"]["fn"]) == (tp, fn)
    lift, gain = result["lift"], result["gain"]
    assert len(lift["x"]) == len(lift["y"]) == len(lift["thresholds"]) <= 100
    assert gain["x"] == lift["x"] and gain["y"][-1] == 1.0
    t = lift["thresholds"][9]
    chosen = s >= t
    assert gain["y"][9] == pytest.approx(y[chosen].sum() / y.sum())
    assert lift["y"][9] == pytest.approx(y[chosen].mean() / y.mean())


def test_quantile_pr_is_precision_and_recall_at_quantile_thresholds(tmp_path: Path) -> None:
    path, y, s = binary_table(tmp_path / "p.npz", 2)
    result = evaluate(tmp_path, {"metrics": ["quantile_pr", "AUC"]}, path).metrics["lr_0"]
    pr = result["train"]["quantile_pr"]
    assert set(result["train"]) == {"count", "positives", "quantile_pr", "auc"}
    for t, p, r in zip(pr["thresholds"], pr["precision"], pr["recall"], strict=True):
        assert p == pytest.approx(skm.precision_score(y, s >= t))
        assert r == pytest.approx(skm.recall_score(y, s >= t))
    assert pr["x"] == pr["recall"] and pr["y"] == pr["precision"]


def test_psi_compares_a_models_train_and_validate_scores(tmp_path: Path) -> None:
    train, y_t, s_t = binary_table(tmp_path / "t.npz", 3, kind="train")
    valid, _, s_v = binary_table(tmp_path / "v.npz", 4, rows=200, kind="validate")
    other, _, _ = binary_table(tmp_path / "o.npz", 5, producer="lr_1", kind="test")
    metrics = evaluate(tmp_path, {"metrics": ["psi", "ks"]}, train, valid, other).metrics
    assert set(metrics) == {"lr_0", "lr_1"} and set(metrics["lr_0"]) == {"train", "validate"}
    psi = metrics["lr_0"]["validate"]["psi"]
    assert "psi" not in metrics["lr_0"]["train"] and "psi" not in metrics["lr_1"]["test"]
    expected = population_stability(s_t, s_v, 20)
    assert psi["total_psi"] == pytest.approx(expected.total_psi)
    assert psi["expected_count"] == expected.expected_count.tolist()
    assert len(psi["intervals"]) == len(psi["psi"]) == len(psi["expected_positive_rate"]) <= 20
    first = np.asarray(s_t) <= expected.split_points[0]
    assert psi["expected_positive_rate"][0] == pytest.approx(y_t[first].mean())
    json.dumps(metrics, allow_nan=False)
    with pytest.raises(ComponentError, match="psi' compares a model's train and validate"):
        evaluate(tmp_path, {"metrics": ["psi"]}, train, other)


def test_multi_class_precision_recall_per_class_macro_micro(tmp_path: Path) -> None:
    path, y, raw = multi_table(tmp_path / "m.npz")
    predicted = raw.argmax(axis=1)
    result = evaluate(tmp_path, {"eval_type": "multi"}, path).metrics
    assert set(result) == {"lr_0"}
    train = result["lr_0"]["train"]
    assert train["classes"] == ["0", "1", "2"]
    assert train["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted))
    assert train["precision"] == pytest.approx(skm.precision_score(y, predicted, average="macro"))
    assert train["recall_micro"] == pytest.approx(skm.recall_score(y, predicted, average="micro"))
    per_class = skm.recall_score(y, predicted, average=None)
    assert [train["per_class"][c]["recall"] for c in "012"] == pytest.approx(per_class.tolist())
    assert train["per_class"]["2"]["support"] == int(np.sum(y == 2))
    only_acc = evaluate(tmp_path, {"eval_type": "multi", "metrics": ["acc"]}, path)
    assert set(only_acc.metrics["lr_0"]["train"]) == {"count", "classes", "accuracy", "per_class"}


def test_unfold_multi_result_evaluates_each_class_against_the_rest(tmp_path: Path) -> None:
    path, y, raw = multi_table(tmp_path / "m.npz")
    metrics = evaluate(tmp_path, {"eval_type": "multi", "unfold_multi_result": True}, path).metrics
    assert set(metrics) == {"lr_0", "lr_0_class_0", "lr_0_class_1", "lr_0_class_2"}
    for c in range(3):
        binary = metrics[f"lr_0_class_{c}"]["train"]
        assert binary["auc"] == pytest.approx(skm.roc_auc_score(y == c, raw[:, c]))
        assert binary["positives"] == int(np.sum(y == c))
    json.dumps(metrics, allow_nan=False)


def test_binary_evaluation_of_a_multi_class_table_is_refused(tmp_path: Path) -> None:
    path, _, _ = multi_table(tmp_path / "m.npz")
    with pytest.raises(ComponentError, match="use eval_type 'multi'"):
        evaluate(tmp_path, {}, path)


def test_regression_metrics_match_sklearn(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    y = rng.gamma(2.0, 2.0, size=100)
    pred = np.abs(y + rng.normal(size=100))
    table = Table(
        [str(i) for i in range(100)], ["predict_result", "predict_score"], np.c_[pred, pred], y
    )
    path = save_table(tmp_path / "r.npz", table, {"producer": "linr_0", "type": "test"})
    names = ["ev", "mae", "mse", "msle", "medae", "r2", "rmse"]
    result = evaluate(tmp_path, {"eval_type": "regression", "metrics": names}, path)
    values = result.metrics["linr_0"]["test"]
    assert values == pytest.approx(
        {
            "count": 100,
            "explained_variance": skm.explained_variance_score(y, pred),
            "mean_absolute_error": skm.mean_absolute_error(y, pred),
            "mean_squared_error": skm.mean_squared_error(y, pred),
            "mean_squared_log_error": skm.mean_squared_log_error(y, pred),
            "median_absolute_error": skm.median_absolute_error(y, pred),
            "r2_score": skm.r2_score(y, pred),
            "root_mean_squared_error": np.sqrt(skm.mean_squared_error(y, pred)),
        }
    )
    default = evaluate(tmp_path, {"eval_type": "regression"}, path).metrics["linr_0"]["test"]
    assert "mean_squared_log_error" not in default and "r2_score" in default
    table.labels = y - 10.0
    negative = save_table(tmp_path / "n.npz", table, {"producer": "linr_0", "type": "test"})
    with pytest.raises(ComponentError, match="mean_squared_log_error needs values >= 0"):
        evaluate(tmp_path, {"eval_type": "regression", "metrics": ["msle"]}, negative)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"eval_type": "clustering"}, "clustering evaluation is not implemented"),
        ({"run_clustering_arbiter_metric": True}, "clustering evaluation is not implemented"),
        ({"eval_type": "multi", "pos_label": 0}, "pos_label applies to eval_type 'binary'"),
        ({"unfold_multi_result": True}, "unfold_multi_result applies to eval_type 'multi'"),
        ({"eval_type": "multi", "metrics": ["auc"]}, "'auc' is not a multi metric"),
        ({"eval_type": "regression", "metrics": ["ks"]}, "'ks' is not a regression metric"),
        ({"pos_label": 2}, "pos_label must be 0 or 1"),
    ],
)
def test_refused_parameters_say_why(tmp_path: Path, params: dict[str, Any], fragment: str) -> None:
    path, _, _ = binary_table(tmp_path / "p.npz", 1)
    with pytest.raises(ComponentError, match="invalid Evaluation parameters") as info:
        evaluate(tmp_path, params, path)
    assert fragment in str(info.value)


def test_need_run_false_other_roles_and_non_prediction_inputs(tmp_path: Path) -> None:
    path, _, _ = binary_table(tmp_path / "p.npz", 1)
    assert evaluate(tmp_path, {"need_run": False}, path) == TaskResult()
    host = run_task("Evaluation", "host", 10000, context("host", 10000), {}, {}, tmp_path)
    assert host == TaskResult()
    features = save_table(tmp_path / "f.npz", Table(["a"], ["x"], np.ones((1, 1)), np.ones(1)))
    with pytest.raises(ComponentError, match="not a prediction table"):
        evaluate(tmp_path, {}, features)
    one_class, _, _ = binary_table(tmp_path / "p.npz", 1, rows=1)
    with pytest.raises(ComponentError, match="one class only"):
        evaluate(tmp_path, {}, one_class)
    nan = Table(
        ["a", "b"], ["predict_result", "predict_score"], np.ones((2, 2)), np.array([0, np.nan])
    )
    nan_path = save_table(tmp_path / "nan.npz", nan, {"producer": "lr_0"})
    with pytest.raises(ComponentError, match="'data': y must be finite"):
        evaluate(tmp_path, {"eval_type": "multi"}, nan_path)


@pytest.mark.integration
def test_heterolr_one_vs_rest_output_evaluates_as_multi(tmp_path: Path) -> None:
    glm: Any = importlib.import_module("test_glm_lr")  # the GLM tests' three-party harness
    tables = glm.make_split(tmp_path, rows=150, classes=3)
    trained = glm.train(tables, tmp_path / "lr", {**glm.BASE, "max_iter": 5})
    guest = trained[glm.GUEST]
    path = guest.data["data"]
    params = {"eval_type": "multi", "unfold_multi_result": True}
    metrics = run_task(
        "Evaluation",
        "guest",
        9999,
        context(),
        params,
        {"data": InputArtifact("data", path)},
        tmp_path / "ev",
    ).metrics
    producer = next(k for k in metrics if "_class_" not in k)
    assert metrics[producer]["train"]["accuracy"] == pytest.approx(
        guest.metrics["train"]["accuracy"]
    )
    assert {f"{producer}_class_{c}" for c in "012"} <= set(metrics)
    assert 0.5 < metrics[f"{producer}_class_0"]["train"]["auc"] <= 1.0
