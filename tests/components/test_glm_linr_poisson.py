"""HeteroLinR and HeteroPoisson as components: the GLM runner with regression outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_glm_lr import (
    ARBITER,
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

from fedloom.components import ComponentError, load_model, run_task, save_table
from fedloom.data import Table
from fedloom.federation import PartyFailed

LINR: dict[str, Any] = {
    "max_iter": 30,
    "learning_rate": 0.2,
    "alpha": 0.001,
    "decay": 0,
    "early_stop": "weight_diff",
    "tol": 0.0,
    "init_param": {"init_method": "zeros"},
}
POISSON: dict[str, Any] = {
    **LINR,
    "learning_rate": 0.1,
    "early_stop": "diff",
    "exposure_colname": "exposure",
}


def poisson_split(out: Path, rows: int = 150, seed: int = 4) -> tuple[Path, Path]:
    """Guest (counts, x0..x2 and an exposure column) and host (h0..h3) tables."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 7))
    exposure = rng.uniform(0.5, 3.0, size=rows)
    y = rng.poisson(exposure * np.exp(0.2 * x @ rng.normal(size=7))).astype(np.float64)
    ids = [f"id{i:04d}" for i in range(rows)]
    features = np.column_stack([x[:, 0], exposure, x[:, 1:3]])
    guest = Table(ids, ["x0", "exposure", "x1", "x2"], features, y)
    host = Table(ids, ["h0", "h1", "h2", "h3"], x[:, 3:])
    return save_table(out / "guest.npz", guest), save_table(out / "host.npz", host)


@pytest.mark.integration
def test_linr_trains_predicts_the_same_values_and_reports_regression_metrics(
    tmp_path: Path,
) -> None:
    tables = make_split(tmp_path, regression=True)
    trained = train(tables, tmp_path / "train", LINR, "HeteroLinR")
    document = load_model(trained[GUEST].model)  # type: ignore[arg-type]
    assert document["module"] == "HeteroLinR" and document["model_meta"]["optimizer"] == "sgd"
    assert set(document["model_param"]["weight"]) == {"x0", "x1", "x2"}
    metrics = trained[GUEST].metrics["train"]
    assert metrics["r2_score"] > 0.8 and "root_mean_squared_error" in metrics
    table, meta = scores(trained[GUEST])
    np.testing.assert_array_equal(table.features[:, 0], table.features[:, 1])
    assert json.loads(meta["predict_detail"][0]) == {"label": table.features[0, 1]}
    assert "threshold" not in meta
    predicted = predict(tables, trained, tmp_path / "predict", LINR, "HeteroLinR")
    np.testing.assert_array_equal(scores(predicted[GUEST])[0].features, table.features)


@pytest.mark.integration
def test_linr_validation_tracks_regression_metrics(tmp_path: Path) -> None:
    whole = make_split(tmp_path, rows=170, regression=True)
    tables = tuple(subset(p, slice(0, 120), tmp_path / "train") for p in whole)
    valid = tuple(subset(p, slice(120, 170), tmp_path / "valid") for p in whole)
    params = {**LINR, "max_iter": 6, "validation_freqs": 2, "metrics": ["rmse", "r2"]}
    inputs = {
        GUEST: {"train_data": data(tables[0]), "validate_data": data(valid[0])},
        HOST: {"train_data": data(tables[1]), "validate_data": data(valid[1])},
    }
    results, _ = run_glm("HeteroLinR", params, inputs, tmp_path / "out")
    history = results[GUEST].metrics["validate"]
    assert [h["iteration"] for h in history] == [1, 3, 5]
    assert set(history[0]) == {"iteration", "root_mean_squared_error", "r2_score"}
    assert history[-1]["root_mean_squared_error"] < history[0]["root_mean_squared_error"]


@pytest.mark.integration
def test_poisson_uses_the_exposure_column_as_an_offset(tmp_path: Path) -> None:
    tables = poisson_split(tmp_path)
    trained = train(tables, tmp_path / "train", POISSON, "HeteroPoisson")
    guest = load_model(trained[GUEST].model)  # type: ignore[arg-type]
    host = load_model(trained[HOST].model)  # type: ignore[arg-type]
    assert guest["model_meta"]["exposure_colname"] == "exposure"
    assert guest["model_param"]["header"] == ["x0", "x1", "x2"]
    table, _ = scores(trained[GUEST])
    raw = make_raw(tables)
    wg, wh = guest["model_param"]["weight"], host["model_param"]["weight"]
    z = (
        raw[0].features[:, [0, 2, 3]] @ np.array([wg["x0"], wg["x1"], wg["x2"]])
        + guest["model_param"]["intercept"]
        + raw[1].features @ np.array([wh[f"h{i}"] for i in range(4)])
    )
    np.testing.assert_allclose(table.features[:, 1], raw[0].features[:, 1] * np.exp(z), rtol=1e-9)
    predicted = predict(tables, trained, tmp_path / "predict", POISSON, "HeteroPoisson")
    np.testing.assert_array_equal(scores(predicted[GUEST])[0].features, table.features)
    loss = trained[ARBITER].metrics["loss"]
    assert len(loss) == 30 and loss[-1] < loss[0]


def subset(path: Path, rows: slice, out: Path) -> Path:
    """Some rows of a saved table, saved under ``out``."""
    from fedloom.components import load_table

    table = load_table(path)
    labels = None if table.labels is None else table.labels[rows]
    part = Table(table.ids[rows], table.header, table.features[rows], labels)
    return save_table(out / path.name, part)


def make_raw(tables: tuple[Path, Path]) -> tuple[Table, Table]:
    """The guest and host tables as written."""
    from fedloom.components import load_table

    return load_table(tables[0]), load_table(tables[1])


@pytest.mark.integration
def test_poisson_refuses_a_missing_or_bad_exposure_column(tmp_path: Path) -> None:
    tables = poisson_split(tmp_path)
    with pytest.raises(PartyFailed, match="exposure_colname 'expo' is not a column"):
        train(tables, tmp_path / "a", {**POISSON, "exposure_colname": "expo"}, "HeteroPoisson")
    guest = make_raw(tables)[0]
    guest.features[3, 1] = 0.0
    bad = save_table(tmp_path / "bad.npz", guest)
    with pytest.raises(PartyFailed, match=r"exposure of id 'id0003' \(row 4\) is 0.0"):
        train((bad, tables[1]), tmp_path / "b", POISSON, "HeteroPoisson")


@pytest.mark.integration
def test_a_model_of_another_module_is_refused(tmp_path: Path) -> None:
    tables = make_split(tmp_path, regression=True)
    trained = train(tables, tmp_path / "train", {**LINR, "max_iter": 2}, "HeteroLinR")
    inputs = {
        GUEST: {"test_data": data(tables[0]), "model": model(trained[GUEST])},
        HOST: {"test_data": data(tables[1]), "model": model(trained[HOST])},
        ARBITER: {"model": model(trained[ARBITER])},
    }
    with pytest.raises(PartyFailed, match="is a 'HeteroLinR' model, not HeteroPoisson"):
        run_glm("HeteroPoisson", POISSON, inputs, tmp_path / "p")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("module", "params", "fragment"),
    [
        ("HeteroLinR", {"metrics": ["auc"]}, "'auc' is not a regression metric"),
        ("HeteroLinR", {"stepwise_param": {"need_stepwise": True}}, "stepwise"),
        ("HeteroPoisson", {"optimizer": "SQN"}, "product of two encrypted values"),
        ("HeteroPoisson", {"exposure_colname": 3}, "exposure_colname"),
    ],
)
def test_regression_settings_are_checked(
    tmp_path: Path, module: str, params: dict[str, Any], fragment: str
) -> None:
    from test_components import local_context

    with pytest.raises(ComponentError, match=f"invalid {module} parameters") as info:
        run_task(module, "guest", 9999, local_context(), params, {}, tmp_path)
    assert fragment in str(info.value)
