"""Cross validation (cv_param.need_cv) of the GLM components: folds, metrics, no model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_glm_linr_poisson import LINR
from test_glm_lr import (
    ARBITER,
    BASE,
    GUEST,
    HOST,
    data,
    make_split,
    model,
    predict,
    run_glm,
    scores,
    train,
)

from fedloom.components import load_table, save_table
from fedloom.data import Table
from fedloom.federation import PartyFailed
from fedloom.ml.glm.cv import kfold, train_rows

CV: dict[str, Any] = {"n_splits": 3, "shuffle": True, "random_seed": 7, "need_cv": True}


def rows_of(path: Path, rows: np.ndarray[Any, Any], out: Path) -> Path:
    """The given rows of a saved table, saved under ``out``."""
    table = load_table(path)
    labels = None if table.labels is None else table.labels[rows]
    part = Table([table.ids[i] for i in rows], table.header, table.features[rows], labels)
    return save_table(out / path.name, part)


@pytest.mark.integration
def test_cv_predicts_each_row_with_the_model_of_the_other_folds(tmp_path: Path) -> None:
    tables = make_split(tmp_path, rows=90)
    params = {**BASE, "cv_param": CV}
    inputs = {GUEST: {"train_data": data(tables[0])}, HOST: {"train_data": data(tables[1])}}
    results, harness = run_glm("HeteroLR", params, inputs, tmp_path / "cv")
    assert all(r.model is None for r in results.values())
    table, meta = scores(results[GUEST])
    assert table.ids == load_table(tables[0]).ids and meta["type"] == "validate"
    folds = kfold(90, 3, True, 7)
    assert [sorted(np.flatnonzero(np.array(meta["fold"]) == k)) for k in range(3)] == [
        f.tolist() for f in folds
    ]
    cv = results[GUEST].metrics["cv"]
    assert [f["fold"] for f in cv["folds"]] == [0, 1, 2] and "train" in cv["folds"][0]
    assert cv["mean"]["auc"] == pytest.approx(np.mean([f["validate"]["auc"] for f in cv["folds"]]))
    # Fold 1 scored by a model trained on the other folds alone, then predicting fold 1.
    kept, held = train_rows(folds, 1, 90), folds[1]
    fold_train = tuple(rows_of(p, kept, tmp_path / "f1_train") for p in tables)
    fold_test = tuple(rows_of(p, held, tmp_path / "f1_test") for p in tables)
    trained = train(fold_train, tmp_path / "f1", BASE)  # type: ignore[arg-type]
    alone = predict(fold_test, trained, tmp_path / "f1p", BASE)  # type: ignore[arg-type]
    np.testing.assert_array_equal(scores(alone[GUEST])[0].features, table.features[held])
    host_names = {r.tag.rsplit("/", 1)[-1] for r in harness.received[HOST]}
    assert "folds" in host_names and not host_names & {"labels", "validate", "auc"}


@pytest.mark.integration
def test_linr_cv_reports_regression_metrics_without_fold_history(tmp_path: Path) -> None:
    tables = make_split(tmp_path, rows=90, regression=True)
    params = {**LINR, "max_iter": 10, "cv_param": {**CV, "output_fold_history": False}}
    inputs = {GUEST: {"train_data": data(tables[0])}, HOST: {"train_data": data(tables[1])}}
    results, _ = run_glm("HeteroLinR", params, inputs, tmp_path / "cv")
    folds = results[GUEST].metrics["cv"]["folds"]
    assert len(folds) == 3 and "train" not in folds[0]
    assert "root_mean_squared_error" in results[GUEST].metrics["cv"]["mean"]
    assert results[ARBITER].metrics["n_splits"] == 3


@pytest.mark.integration
def test_cv_history_of_instances_holds_the_rows_with_their_fold(tmp_path: Path) -> None:
    tables = make_split(tmp_path, rows=60, regression=True)
    params = {**LINR, "max_iter": 3, "cv_param": {**CV, "history_value_type": "instance"}}
    inputs = {GUEST: {"train_data": data(tables[0])}, HOST: {"train_data": data(tables[1])}}
    results, _ = run_glm("HeteroLinR", params, inputs, tmp_path / "cv")
    table, meta = scores(results[GUEST])
    guest = load_table(tables[0])
    assert table.ids == guest.ids and table.header == guest.header
    np.testing.assert_array_equal(table.features, guest.features)
    assert sorted(set(meta["fold"])) == [0, 1, 2] and meta["type"] == "validate"
    assert meta["columns"] == ["id", "label", *guest.header, "fold", "type"]
    assert len(results[GUEST].metrics["cv"]["folds"]) == 3


@pytest.mark.integration
def test_cv_refuses_a_model_input(tmp_path: Path) -> None:
    tables = make_split(tmp_path)
    trained = train(tables, tmp_path / "train", {**BASE, "max_iter": 1})
    inputs = {
        GUEST: {"train_data": data(tables[0]), "model": model(trained[GUEST])},
        HOST: {"train_data": data(tables[1]), "model": model(trained[HOST])},
    }
    with pytest.raises(PartyFailed, match=r"drop the inputs \['model'\]"):
        run_glm("HeteroLR", {**BASE, "cv_param": CV}, inputs, tmp_path / "cv")


@pytest.mark.integration
def test_poisson_cv_keeps_the_exposure_offset_per_fold(tmp_path: Path) -> None:
    from test_glm_linr_poisson import POISSON, poisson_split

    tables = poisson_split(tmp_path, rows=90)
    params = {**POISSON, "max_iter": 5, "cv_param": CV}
    inputs = {GUEST: {"train_data": data(tables[0])}, HOST: {"train_data": data(tables[1])}}
    results, _ = run_glm("HeteroPoisson", params, inputs, tmp_path / "cv")
    table, meta = scores(results[GUEST])
    guest = load_table(tables[0])
    assert meta["type"] == "validate" and len(table.ids) == 90
    folds = kfold(90, 3, True, 7)
    kept, held = train_rows(folds, 0, 90), folds[0]
    fold_train = tuple(rows_of(p, kept, tmp_path / "f0_train") for p in tables)
    fold_test = tuple(rows_of(p, held, tmp_path / "f0_test") for p in tables)
    trained = train(fold_train, tmp_path / "f0", {**POISSON, "max_iter": 5}, "HeteroPoisson")  # type: ignore[arg-type]
    alone = predict(fold_test, trained, tmp_path / "f0p", POISSON, "HeteroPoisson")  # type: ignore[arg-type]
    # exp/log of differently sized arrays may differ in the last bit (numpy's SIMD loops)
    np.testing.assert_allclose(scores(alone[GUEST])[0].features, table.features[held], rtol=1e-13)
    assert np.all(table.features[:, 1] > 0) and guest.header[1] == "exposure"
