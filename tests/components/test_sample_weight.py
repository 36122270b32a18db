"""SampleWeight: class and column weights at the guest, FATE's model, transform mode, and the
GLMs training with the weights (a weight of 2 is a duplicated row)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fedloom.components import (
    ComponentError,
    TaskResult,
    load_model,
    load_table,
    load_table_with_meta,
    save_table,
)
from fedloom.data import Table
from fedloom.federation import PartyFailed
from tests.ml.sampling.support import THREE, TWO, data, model, run, vertical

GUEST, HOST = TWO.guest, TWO.hosts[0]
ARBITER = THREE.arbiter
assert GUEST is not None and ARBITER is not None


def weigh(tables: tuple[Path, Path], out: Path, params: dict[str, Any]) -> dict[Any, TaskResult]:
    """SampleWeight at the guest and the host."""
    inputs = {GUEST: {"data": data(tables[0])}, HOST: {"data": data(tables[1])}}
    return run("SampleWeight", params, inputs, out)


@pytest.mark.integration
def test_balanced_weights_follow_fates_rule_and_are_recorded(tmp_path: Path) -> None:
    tables = vertical(tmp_path, rows=200, positive=0.2)
    results = weigh(tables, tmp_path / "w", {"class_weight": "balanced"})
    guest = load_table(results[GUEST].data["data"])
    assert guest.labels is not None and guest.weights is not None
    positives = int(guest.labels.sum())
    expected = {"0": 200 / (2 * (200 - positives)), "1": 200 / (2 * positives)}
    np.testing.assert_allclose(
        guest.weights, np.where(guest.labels == 1, expected["1"], expected["0"])
    )
    assert guest.weights.sum() == pytest.approx(200)
    document = load_model(results[GUEST].model)  # type: ignore[arg-type]
    assert document["model_meta"] == {
        "sample_weight_name": None,
        "normalize": False,
        "need_run": True,
    }
    assert document["model_param"]["weight_mode"] == "class weight"
    assert document["model_param"]["class_weight"] == pytest.approx(expected)
    assert document["model_param"]["header"] == ["x0", "x1", "x2"]
    assert results[GUEST].metrics["classes"] == ["0", "1"]
    host_table = load_table(results[HOST].data["data"])
    assert host_table.weights is None and host_table.header == ["h0", "h1", "h2", "h3"]
    host_model = load_model(results[HOST].model)  # type: ignore[arg-type]
    assert host_model["model_param"]["class_weight"] is None  # hosts learn no class counts


@pytest.mark.integration
def test_a_weight_column_leaves_the_features_and_normalizes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ids = [f"r{i}" for i in range(10)]
    w = rng.uniform(0.5, 3.0, size=10)
    x = np.column_stack([rng.normal(size=10), w, rng.normal(size=10)])
    guest = save_table(tmp_path / "g.npz", Table(ids, ["a", "wt", "b"], x, np.ones(10)))
    host = save_table(tmp_path / "h.npz", Table(ids, ["h"], rng.normal(size=(10, 1))))
    params = {"sample_weight_name": "wt", "normalize": True}
    results = run(
        "SampleWeight",
        {},
        {GUEST: {"data": data(guest)}, HOST: {"data": data(host)}},
        tmp_path / "w",
        only={GUEST: params},
    )
    table = load_table(results[GUEST].data["data"])
    assert table.header == ["a", "b"]
    np.testing.assert_allclose(table.features, x[:, [0, 2]])
    np.testing.assert_allclose(table.weights, w / w.mean())  # type: ignore[arg-type]
    document = load_model(results[GUEST].model)  # type: ignore[arg-type]
    assert document["model_param"]["weight_mode"] == "sample weight name"
    assert document["model_meta"]["sample_weight_name"] == "wt"


@pytest.mark.integration
def test_transform_applies_the_fitted_class_weights(tmp_path: Path) -> None:
    tables = vertical(tmp_path, rows=100, positive=0.3)
    fitted = weigh(tables, tmp_path / "fit", {"class_weight": "balanced"})
    trained = load_model(fitted[GUEST].model)  # type: ignore[arg-type]
    other = vertical(tmp_path / "other", rows=60, seed=9, positive=0.5)
    inputs = {
        GUEST: {"data": data(other[0]), "model": model(fitted[GUEST])},
        HOST: {"data": data(other[1]), "model": model(fitted[HOST])},
    }
    applied = run("SampleWeight", {}, inputs, tmp_path / "apply")
    table = load_table(applied[GUEST].data["data"])
    weights = trained["model_param"]["class_weight"]
    assert table.labels is not None
    np.testing.assert_allclose(
        table.weights,  # type: ignore[arg-type]
        np.where(table.labels == 1, weights["1"], weights["0"]),
    )
    assert applied[GUEST].metrics["mode"] == "transform"
    with pytest.raises(PartyFailed, match="differs from the model"):
        run("SampleWeight", {"class_weight": {"0": 1, "1": 5}}, inputs, tmp_path / "bad")


@pytest.mark.unit
def test_parameters_fedloom_would_ignore_are_refused() -> None:
    from fedloom.components.sample_weight_param import SampleWeightParam

    with pytest.raises(ValueError, match="not both"):
        SampleWeightParam.model_validate({"class_weight": "balanced", "sample_weight_name": "w"})
    with pytest.raises(ValueError, match="normalize"):
        SampleWeightParam.model_validate({"class_weight": "balanced", "normalize": True})
    with pytest.raises(ValueError, match="balanced"):
        SampleWeightParam.model_validate({"class_weight": "auto"})
    assert SampleWeightParam.model_validate({"class_weight": {"0": 1, "1": 2.5}})


@pytest.mark.integration
def test_a_weight_column_at_a_host_is_refused(tmp_path: Path) -> None:
    tables = vertical(tmp_path, rows=20)
    with pytest.raises(PartyFailed, match="weights live at the guest") as info:
        run(
            "SampleWeight",
            {},
            {GUEST: {"data": data(tables[0])}, HOST: {"data": data(tables[1])}},
            tmp_path / "w",
            only={HOST: {"sample_weight_name": "h0"}},
        )
    assert isinstance(info.value.error, ComponentError)


# --- the GLMs train with the weights -------------------------------------------------------

SGD: dict[str, Any] = {
    "max_iter": 6,
    "batch_size": -1,
    "optimizer": "sgd",
    "penalty": None,
    "early_stop": "weight_diff",
    "tol": 0.0,
    "shuffle": False,
    "init_param": {"init_method": "zeros"},
}


def _train(module: str, guest: Path, host: Path, out: Path, params: dict[str, Any]) -> Any:
    inputs = {GUEST: {"train_data": data(guest)}, HOST: {"train_data": data(host)}}
    results = run(module, params, inputs, out, THREE)
    guest, host, arbiter = (
        load_model(results[p].model)["model_param"]  # type: ignore[arg-type]
        for p in (GUEST, HOST, ARBITER)
    )
    guest["loss_history"] = arbiter["loss_history"]
    return guest, host


def _problem(out: Path, kind: str) -> tuple[Table, Table]:
    rng = np.random.default_rng(11)
    rows = 60
    x = rng.normal(size=(rows, 5)) * 0.5
    z = x @ rng.normal(size=5) * 0.5
    y = {
        "HeteroLR": (z > 0).astype(np.float64),
        "HeteroLinR": z + 0.1 * rng.normal(size=rows),
        "HeteroPoisson": rng.poisson(np.exp(z)).astype(np.float64),
    }[kind]
    ids = [f"id{i:03d}" for i in range(rows)]
    return Table(ids, ["x0", "x1"], x[:, :2], y), Table(ids, ["h0", "h1", "h2"], x[:, 2:])


@pytest.mark.integration
@pytest.mark.parametrize("module", ["HeteroLR", "HeteroLinR", "HeteroPoisson"])
def test_a_weight_of_two_trains_like_a_duplicated_row(tmp_path: Path, module: str) -> None:
    guest, host = _problem(tmp_path, module)
    rows, twice = len(guest), [4, 17]
    weights = np.ones(rows)
    weights[twice] = 2.0
    weighted = Table(guest.ids, guest.header, guest.features, guest.labels, weights)
    order = list(range(rows)) + twice
    copies = [f"{guest.ids[i]}{'_copy' if k >= rows else ''}" for k, i in enumerate(order)]
    dup_guest = Table(copies, guest.header, guest.features[order], guest.labels[order])  # type: ignore[index]
    dup_host = Table(copies, host.header, host.features[order])
    # FATE divides the weighted gradient by the row count: n rows vs n + 2 duplicated rows,
    # so the same steps need learning rates in the ratio n : n + 2.
    rate = 0.1
    params_w = {**SGD, "learning_rate": rate * rows / (rows + len(twice))}
    params_d = {**SGD, "learning_rate": rate}
    if module == "HeteroLR":
        params_w["early_stop"] = params_d["early_stop"] = "diff"  # the loss too
    paths = {
        name: save_table(tmp_path / f"{name}.npz", table)
        for name, table in {
            "weighted": weighted,
            "host": host,
            "dup_guest": dup_guest,
            "dup_host": dup_host,
        }.items()
    }
    g_w, h_w = _train(module, paths["weighted"], paths["host"], tmp_path / "w", params_w)
    g_d, h_d = _train(module, paths["dup_guest"], paths["dup_host"], tmp_path / "d", params_d)
    for name in ("x0", "x1"):
        assert g_w["weight"][name] == pytest.approx(g_d["weight"][name], rel=1e-9, abs=1e-12)
    assert g_w["intercept"] == pytest.approx(g_d["intercept"], rel=1e-9, abs=1e-12)
    for name in ("h0", "h1", "h2"):
        assert h_w["weight"][name] == pytest.approx(h_d["weight"][name], rel=1e-9, abs=1e-12)
    assert any(abs(v) > 1e-3 for v in g_w["weight"].values())
    if module == "HeteroLR":  # the weighted loss is the duplicated rows' loss times (n+2)/n
        scale = (rows + len(twice)) / rows
        assert len(g_w["loss_history"]) == SGD["max_iter"]
        np.testing.assert_allclose(
            g_w["loss_history"], np.asarray(g_d["loss_history"]) * scale, rtol=1e-9
        )


@pytest.mark.integration
def test_balanced_weights_raise_the_scores_of_a_rare_class(tmp_path: Path) -> None:
    tables = vertical(tmp_path, rows=200, positive=0.15, seed=4)
    weighted = weigh(tables, tmp_path / "w", {"class_weight": "balanced"})
    params = {**SGD, "learning_rate": 0.3, "max_iter": 20}
    plain = run(
        "HeteroLR",
        params,
        {GUEST: {"train_data": data(tables[0])}, HOST: {"train_data": data(tables[1])}},
        tmp_path / "plain",
        THREE,
    )
    balanced = run(
        "HeteroLR",
        params,
        {
            GUEST: {"train_data": data(weighted[GUEST].data["data"])},
            HOST: {"train_data": data(weighted[HOST].data["data"])},
        },
        tmp_path / "balanced",
        THREE,
    )
    before, _ = load_table_with_meta(plain[GUEST].data["data"])
    after, _ = load_table_with_meta(balanced[GUEST].data["data"])
    labels = before.labels
    assert labels is not None
    mean_before = before.features[:, 1].mean()
    mean_after = after.features[:, 1].mean()
    # with 15 % positives the plain model's scores fall toward 0.15; weighted to balance,
    # the classes pull equally and the scores average about ½
    assert mean_before < 0.4 and abs(mean_after - 0.5) < 0.05
    recall_before = before.features[labels == 1, 0].mean()
    recall_after = after.features[labels == 1, 0].mean()
    assert recall_after > recall_before


@pytest.mark.unit
def test_tables_keep_their_weights_and_old_tables_still_load(tmp_path: Path) -> None:
    table = Table(["a", "b"], ["x"], np.ones((2, 1)), np.array([0.0, 1.0]), np.array([0.5, 2]))
    loaded = load_table(save_table(tmp_path / "w.npz", table))
    np.testing.assert_array_equal(loaded.weights, [0.5, 2.0])  # type: ignore[arg-type]
    np.testing.assert_array_equal(loaded.take([1]).weights, [2.0])  # type: ignore[arg-type]
    old = load_table(save_table(tmp_path / "o.npz", Table(["a"], ["x"], np.ones((1, 1)))))
    assert old.weights is None
    with pytest.raises(ValueError, match="finite"):
        save_table(tmp_path / "bad.npz", Table(["a"], ["x"], np.ones((1, 1)), None, [np.nan]))  # type: ignore[arg-type]
    np.savez(tmp_path / "forged.npz", **_arrays(weights=np.array(["1"])))
    with pytest.raises(ComponentError, match="weights"):
        load_table(tmp_path / "forged.npz")


def _arrays(**extra: Any) -> dict[str, Any]:
    return {
        "ids": np.asarray(["a"]),
        "header": np.asarray(["x"]),
        "features": np.ones((1, 1)),
        **extra,
    }


@pytest.mark.integration
@pytest.mark.parametrize("optimizer", ["rmsprop", "sqn"])
def test_unit_weights_train_the_unweighted_model(tmp_path: Path, optimizer: str) -> None:
    guest, host = _problem(tmp_path, "HeteroLR")
    ones = Table(guest.ids, guest.header, guest.features, guest.labels, np.ones(len(guest)))
    paths = [
        save_table(tmp_path / f"{n}.npz", t)
        for n, t in (("plain", guest), ("ones", ones), ("host", host))
    ]
    params = {**SGD, "optimizer": optimizer, "learning_rate": 0.2, "max_iter": 4}
    if optimizer == "sqn":
        params["sqn_param"] = {"update_interval_L": 1, "sample_size": 20, "random_seed": 3}
    g_plain, h_plain = _train("HeteroLR", paths[0], paths[2], tmp_path / "p", params)
    g_ones, h_ones = _train("HeteroLR", paths[1], paths[2], tmp_path / "o", params)
    assert g_ones["weight"] == pytest.approx(g_plain["weight"], rel=1e-12)
    assert h_ones["weight"] == pytest.approx(h_plain["weight"], rel=1e-12)
    assert g_ones["intercept"] == pytest.approx(g_plain["intercept"], rel=1e-12)
