"""HeteroLR validation during training as a component: metrics, early stopping, ovr."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_glm_lr import BASE, GUEST, HOST, data, make_split, predict, run_glm

from fedloom.components import load_model, load_table, save_table


@pytest.mark.integration
def test_validation_records_metrics_and_keeps_the_best_iteration(tmp_path: Path) -> None:
    tables = make_split(tmp_path, rows=160)
    valid = make_split(tmp_path / "valid", rows=60, seed=6)
    params = {
        **BASE,
        "max_iter": 30,
        "learning_rate": 0.5,
        "optimizer": "sgd",
        "validation_freqs": 1,
        "early_stopping_rounds": 2,
        "metrics": ["auc", "accuracy"],
        "use_first_metric_only": True,
    }
    inputs = {
        GUEST: {"train_data": data(tables[0]), "validate_data": data(valid[0])},
        HOST: {"train_data": data(tables[1]), "validate_data": data(valid[1])},
    }
    results, harness = run_glm("HeteroLR", params, inputs, tmp_path / "out")
    history = results[GUEST].metrics["validate"]
    best = results[GUEST].metrics["best_iteration"]
    assert [h["iteration"] for h in history] == list(range(len(history)))
    assert set(history[0]) == {"iteration", "auc", "accuracy"}
    aucs = [h["auc"] for h in history]
    assert best == int(np.argmax(aucs))
    stopped = len(history) < 30
    if stopped:
        assert all(a <= aucs[best] for a in aucs[best + 1 :]) and len(aucs) - 1 - best == 2
    host_doc = load_model(results[HOST].model)  # type: ignore[arg-type]
    assert host_doc["model_param"]["best_iteration"] == best
    host_names = {r.tag.rsplit("/", 1)[-1] for r in harness.received[HOST]}
    assert host_names <= {
        "pubkey",
        "task",
        "setup",
        "batches",
        "residual",
        "gradient_plain",
        "converged",
        "validation_stop",
        "best_iteration",
    }


@pytest.mark.integration
def test_callback_param_spelling_of_early_stopping(tmp_path: Path) -> None:
    tables = make_split(tmp_path)
    params = {
        **BASE,
        "max_iter": 4,
        "callback_param": {
            "callbacks": ["PerformanceEvaluate", "EarlyStopping"],
            "validation_freqs": 2,
            "early_stopping_rounds": 5,
            "metrics": ["ks"],
        },
    }
    inputs = {
        GUEST: {"train_data": data(tables[0]), "validate_data": data(tables[0])},
        HOST: {"train_data": data(tables[1]), "validate_data": data(tables[1])},
    }
    results, _ = run_glm("HeteroLR", params, inputs, tmp_path / "out")
    history = results[GUEST].metrics["validate"]
    assert [h["iteration"] for h in history] == [1, 3] and set(history[0]) == {"iteration", "ks"}


@pytest.mark.integration
def test_validate_data_without_freqs_is_scored_once_by_the_final_model(tmp_path: Path) -> None:
    tables = make_split(tmp_path)
    valid = make_split(tmp_path / "valid", rows=60, seed=6)
    inputs = {
        GUEST: {"train_data": data(tables[0]), "validate_data": data(valid[0])},
        HOST: {"train_data": data(tables[1]), "validate_data": data(valid[1])},
    }
    results, _ = run_glm("HeteroLR", BASE, inputs, tmp_path / "out")
    final = results[GUEST].metrics["validate_final"]
    assert "validate" not in results[GUEST].metrics and final["count"] == 60
    predicted = predict(valid, results, tmp_path / "predict", BASE)
    assert final == predicted[GUEST].metrics["test"]


@pytest.mark.integration
def test_one_vs_rest_validates_each_class_model(tmp_path: Path) -> None:
    tables = make_split(tmp_path, rows=150, classes=3)
    params = {**BASE, "max_iter": 4, "learning_rate": 0.3, "validation_freqs": 2}
    guest = load_table(tables[0])
    assert guest.labels is not None
    rows = np.flatnonzero(guest.labels != 0)  # validation rows of two of the three classes
    valid = [
        save_table(tmp_path / "valid" / p.name, load_table(p).take(rows.tolist())) for p in tables
    ]
    inputs = {
        GUEST: {"train_data": data(tables[0]), "validate_data": data(valid[0])},
        HOST: {"train_data": data(tables[1]), "validate_data": data(valid[1])},
    }
    results, _ = run_glm("HeteroLR", params, inputs, tmp_path / "out")
    history = results[GUEST].metrics["validate"]
    assert set(history) == {"0", "1", "2"}
    assert [h["iteration"] for h in history["1"]] == [1, 3]
    final = results[GUEST].metrics["validate_final"]
    assert final["count"] == rows.size and set(final["per_class"]) <= {"0", "1", "2"}
