"""HeteroLR as a component: FATE model files, predict mode, warm start, validation, ovr."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fedloom.components import (
    ComponentError,
    HeteroLogisticParam,
    InputArtifact,
    TaskHooks,
    TaskResult,
    load_model,
    load_table_with_meta,
    run_task,
    save_table,
)
from fedloom.crypto import generate_plain_keypair
from fedloom.data import Table
from fedloom.federation import (
    HarnessResult,
    JobParties,
    KeyRing,
    Party,
    PartyFailed,
    run_parties,
)

PARTIES = JobParties.of(guest=9999, hosts=[10000], arbiter=10001)
GUEST, HOST, ARBITER = PARTIES.guest, PARTIES.hosts[0], PARTIES.arbiter
PLAIN = TaskHooks(keygen=generate_plain_keypair)
BASE: dict[str, Any] = {
    "max_iter": 5,
    "batch_size": -1,
    "learning_rate": 0.15,
    "early_stop": "weight_diff",
    "tol": 0.0,
    "init_param": {"init_method": "zeros"},
}
Inputs = dict[Party, dict[str, InputArtifact]]


def relaxed() -> KeyRing:
    """Admit the stand-in and small keys (tests only)."""
    return KeyRing(min_key_length=256, allow_plain=True)


def make_split(
    out: Path, rows: int = 120, seed: int = 5, classes: int = 2, regression: bool = False
) -> tuple[Path, Path]:
    """Aligned guest (labels + 3 features) and host (4 features) tables of one problem."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 7))
    z = x @ rng.normal(size=7)
    if regression:
        y = z + 0.1 * rng.normal(size=rows)
    elif classes == 2:
        y = (z + 0.3 * rng.normal(size=rows) > 0).astype(np.float64)
    else:
        y = np.digitize(z, np.quantile(z, np.linspace(0, 1, classes + 1)[1:-1])).astype(float)
    ids = [f"id{i:04d}" for i in range(rows)]
    guest = save_table(out / "guest.npz", Table(ids, ["x0", "x1", "x2"], x[:, :3], y))
    host = save_table(out / "host.npz", Table(ids, ["h0", "h1", "h2", "h3"], x[:, 3:]))
    return guest, host


def data(path: Path) -> InputArtifact:
    """A data-table input."""
    return InputArtifact("data", path)


def model(result: TaskResult) -> InputArtifact:
    """A task's model output as a model input."""
    assert result.model is not None
    return InputArtifact("model", result.model)


def run_glm(
    module: str,
    params: dict[str, Any],
    inputs: Inputs,
    out: Path,
    *,
    hooks: TaskHooks = PLAIN,
    keyring: Callable[[], KeyRing] = relaxed,
) -> tuple[dict[Party, TaskResult], HarnessResult]:
    """Run ``module`` at guest, host and arbiter in threads; results by party."""

    def task(party: Party) -> Callable[[Any], TaskResult]:
        def run(ctx: Any) -> TaskResult:
            where = out / party.role
            return run_task(
                module,
                party.role,
                party.party_id,
                ctx.sub("glm_0"),
                params,
                inputs.get(party, {}),
                where,
                hooks=hooks,
            )

        return run

    harness = run_parties(PARTIES, {p: task(p) for p in PARTIES.all}, keyring=keyring, timeout=60)
    return harness.results, harness


def train(
    tables: tuple[Path, Path], out: Path, params: dict[str, Any], module: str = "HeteroLR"
) -> dict[Party, TaskResult]:
    """Train on the guest and host tables."""
    inputs = {GUEST: {"train_data": data(tables[0])}, HOST: {"train_data": data(tables[1])}}
    return run_glm(module, params, inputs, out)[0]


def predict(
    tables: tuple[Path, Path],
    trained: dict[Party, TaskResult],
    out: Path,
    params: dict[str, Any],
    module: str = "HeteroLR",
) -> dict[Party, TaskResult]:
    """Predict on the tables with the trained model files (each party its own part)."""
    inputs = {
        GUEST: {"test_data": data(tables[0]), "model": model(trained[GUEST])},
        HOST: {"test_data": data(tables[1]), "model": model(trained[HOST])},
        ARBITER: {"model": model(trained[ARBITER])},
    }
    return run_glm(module, params, inputs, out)[0]


def scores(result: TaskResult) -> tuple[Table, dict[str, Any]]:
    """The guest's prediction table and meta."""
    return load_table_with_meta(result.data["data"])


@pytest.mark.unit
def test_fate_callback_and_metric_spellings_are_accepted() -> None:
    base = {"callback_param": {"callbacks": ["ModelCheckpoint"], "validation_freqs": 1}}
    param = HeteroLogisticParam.model_validate(
        {**base, "callback_param": {**base["callback_param"], "metrics": None}}
    )
    assert param.validation_settings()["validation_freqs"] is None  # no evaluating callback
    assert HeteroLogisticParam.model_validate({"metrics": []}).validation_metrics() == ["auc", "ks"]
    cv = HeteroLogisticParam.model_validate({"cv_param": {"history_value_type": "score"}})
    assert cv.cv_param.history_value_type == "score"


@pytest.mark.integration
def test_model_files_have_fates_fields_and_only_the_partys_part(tmp_path: Path) -> None:
    tables = make_split(tmp_path)
    trained = train(tables, tmp_path / "train", BASE)
    guest, host = load_model(trained[GUEST].model), load_model(trained[HOST].model)  # type: ignore[arg-type]
    arbiter = load_model(trained[ARBITER].model)  # type: ignore[arg-type]
    for document, role in ((guest, "guest"), (host, "host"), (arbiter, "arbiter")):
        assert set(document) == {"module", "role", "party_id", "model_meta", "model_param"}
        assert document["module"] == "HeteroLR" and document["role"] == role
        meta = document["model_meta"]
        assert meta["optimizer"] == "rmsprop" and meta["max_iter"] == 5
        assert meta["need_one_vs_rest"] is False and meta["fit_intercept"] is True
        assert document["model_param"]["iters"] == 5
    assert guest["model_param"]["header"] == ["x0", "x1", "x2"]
    assert set(guest["model_param"]["weight"]) == {"x0", "x1", "x2"}
    assert isinstance(guest["model_param"]["intercept"], float)
    assert host["model_param"]["header"] == ["h0", "h1", "h2", "h3"]
    assert set(host["model_param"]) == {
        "iters",
        "loss_history",
        "is_converged",
        "best_iteration",
        "header",
        "weight",
    }
    assert "weight" not in arbiter["model_param"]
    assert trained[HOST].data == {} and trained[ARBITER].data == {}


@pytest.mark.integration
def test_predict_with_the_model_reproduces_the_training_scores(tmp_path: Path) -> None:
    tables = make_split(tmp_path)
    trained = train(tables, tmp_path / "train", BASE)
    predicted = predict(tables, trained, tmp_path / "predict", BASE)
    before, train_meta = scores(trained[GUEST])
    after, meta = scores(predicted[GUEST])
    np.testing.assert_array_equal(after.features, before.features)
    assert after.ids == before.ids and after.header == ["predict_result", "predict_score"]
    np.testing.assert_array_equal(after.labels, before.labels)
    assert (train_meta["type"], meta["type"]) == ("train", "test")
    detail = json.loads(meta["predict_detail"][0])
    assert detail == pytest.approx({"0": 1 - after.features[0, 1], "1": after.features[0, 1]})
    assert len(meta["predict_detail"]) == len(after.ids)
    assert meta["columns"][-2:] == ["predict_detail", "type"]
    assert predicted[HOST] == TaskResult() and predicted[ARBITER] == TaskResult()
    assert predicted[GUEST].model is None and "auc" in predicted[GUEST].metrics["test"]


@pytest.mark.integration
def test_predict_aligns_columns_by_name_and_names_a_mismatch(tmp_path: Path) -> None:
    tables = make_split(tmp_path)
    trained = train(tables, tmp_path / "train", BASE)
    table, _ = load_table_with_meta(tables[1])
    order = [3, 1, 0, 2]
    shuffled = Table(
        table.ids, [table.header[i] for i in order], table.features[:, order], table.labels
    )
    host_path = save_table(tmp_path / "host_shuffled.npz", shuffled)
    predicted = predict((tables[0], host_path), trained, tmp_path / "p", BASE)
    np.testing.assert_allclose(
        scores(predicted[GUEST])[0].features, scores(trained[GUEST])[0].features, atol=1e-12
    )
    renamed = Table(table.ids, ["h0", "h1", "h2", "zz"], table.features)
    bad = save_table(tmp_path / "host_renamed.npz", renamed)
    with pytest.raises(PartyFailed, match=r"missing \['h3'\], not in the model \['zz'\]"):
        predict((tables[0], bad), trained, tmp_path / "bad", BASE)


@pytest.mark.integration
def test_warm_start_continues_to_max_iter_like_one_long_fit(tmp_path: Path) -> None:
    tables = make_split(tmp_path)
    sgd = {**BASE, "optimizer": "sgd", "init_param": {"init_method": "zeros"}}
    long = train(tables, tmp_path / "long", {**sgd, "max_iter": 6})
    short = train(tables, tmp_path / "short", {**sgd, "max_iter": 3})
    inputs = {
        GUEST: {"train_data": data(tables[0]), "model": model(short[GUEST])},
        HOST: {"train_data": data(tables[1]), "model": model(short[HOST])},
        ARBITER: {"model": model(short[ARBITER])},
    }
    warm, _ = run_glm("HeteroLR", {**sgd, "max_iter": 6}, inputs, tmp_path / "warm")
    for party in (GUEST, HOST):
        a = load_model(warm[party].model)["model_param"]  # type: ignore[arg-type]
        b = load_model(long[party].model)["model_param"]  # type: ignore[arg-type]
        assert a["iters"] == b["iters"] == 6
        for name, weight in b["weight"].items():
            assert a["weight"][name] == pytest.approx(weight, abs=1e-12)
    assert warm[GUEST].metrics["n_iter"] == 6 and warm[ARBITER].metrics["n_iter"] == 6


@pytest.mark.integration
def test_warm_start_refuses_a_model_of_other_features(tmp_path: Path) -> None:
    tables = make_split(tmp_path)
    short = train(tables, tmp_path / "short", {**BASE, "max_iter": 2})
    inputs = {
        GUEST: {"train_data": data(tables[0]), "model": model(short[HOST])},
        HOST: {"train_data": data(tables[1]), "model": model(short[HOST])},
        ARBITER: {"model": model(short[ARBITER])},
    }
    with pytest.raises(PartyFailed, match="is the 'host''s part, not the guest's"):
        run_glm("HeteroLR", BASE, inputs, tmp_path / "warm")


@pytest.mark.integration
def test_one_vs_rest_trains_a_model_per_class_and_predicts_the_best(tmp_path: Path) -> None:
    tables = make_split(tmp_path, rows=150, classes=3)
    params = {**BASE, "max_iter": 8, "learning_rate": 0.3}
    trained = train(tables, tmp_path / "train", params)
    guest = load_model(trained[GUEST].model)  # type: ignore[arg-type]
    host = load_model(trained[HOST].model)  # type: ignore[arg-type]
    ovr = guest["model_param"]["one_vs_rest_result"]
    assert guest["model_meta"]["need_one_vs_rest"] is True
    assert ovr["one_vs_rest_classes"] == ["0", "1", "2"] and len(ovr["completed_models"]) == 3
    assert len(host["model_param"]["one_vs_rest_result"]["completed_models"]) == 3
    table, meta = scores(trained[GUEST])
    details = [json.loads(d) for d in meta["predict_detail"]]
    best = [max(d, key=d.__getitem__) for d in details]
    assert table.features[:, 0].tolist() == [float(c) for c in best]
    assert trained[GUEST].metrics["train"]["accuracy"] > 0.6
    predicted = predict(tables, trained, tmp_path / "predict", params)
    np.testing.assert_array_equal(scores(predicted[GUEST])[0].features, table.features)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"optimizer": "sqn", "sqn_param": {"memory_M": 0}}, "sqn_param.memory_M"),
        ({"early_stopping_rounds": 3}, "early_stopping_rounds needs validation_freqs"),
        ({"validation_freqs": 1, "metrics": ["roc"]}, "'roc' is not a scalar binary metric"),
        ({"batch_strategy": "random"}, "draws batch_size rows"),
        ({"masked_rate": -1}, "masked_rate"),
        ({"validation_freqs": 1, "early_stopping_rounds": 0}, "positive number of validations"),
        ({"callback_param": {"validation_freqs": 0}}, "positive number of epochs"),
        (
            {
                "callback_param": {
                    "callbacks": ["PerformanceEvaluate"],
                    "validation_freqs": 1,
                    "metrics": ["lift"],
                }
            },
            "'lift' is not a scalar binary metric",
        ),
        ({"callback_param": {"save_freq": 2}}, "saved once"),
        (
            {
                "validation_freqs": 1,
                "callback_param": {"callbacks": ["PerformanceEvaluate"], "validation_freqs": 2},
            },
            "disagree",
        ),
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, params: dict[str, Any], fragment: str) -> None:
    """Each setting is refused with the reason (FATE's warm-start example's callback settings
    without their callbacks, ``metrics: null`` and ``metrics: []`` are not: see below)."""
    from test_components import local_context

    with pytest.raises(ComponentError, match="invalid HeteroLR parameters") as info:
        run_task("HeteroLR", "guest", 9999, local_context(), params, {}, tmp_path)
    assert fragment in str(info.value)


@pytest.mark.integration
def test_inputs_that_do_not_make_a_task_are_refused(tmp_path: Path) -> None:
    tables = make_split(tmp_path)
    inputs = {GUEST: {"test_data": data(tables[0])}, HOST: {"test_data": data(tables[1])}}
    with pytest.raises(PartyFailed, match="needs train_data to train, or a model input"):
        run_glm("HeteroLR", BASE, inputs, tmp_path / "out")


@pytest.mark.integration
def test_the_sqn_optimizer_trains_through_the_component(tmp_path: Path) -> None:
    tables = make_split(tmp_path)
    params = {
        **BASE,
        "optimizer": "sqn",
        "max_iter": 6,
        "batch_size": 40,
        "learning_rate": 0.3,
        "sqn_param": {"update_interval_L": 2, "memory_M": 3, "sample_size": 60, "random_seed": 1},
    }
    trained = train(tables, tmp_path / "train", params)
    assert load_model(trained[GUEST].model)["model_meta"]["optimizer"] == "sqn"  # type: ignore[arg-type]
    assert trained[GUEST].metrics["n_iter"] == 6 and trained[GUEST].metrics["train"]["auc"] > 0.85


@pytest.mark.integration
def test_predict_on_rows_without_labels(tmp_path: Path) -> None:
    tables = make_split(tmp_path)
    trained = train(tables, tmp_path / "train", BASE)
    guest, _ = load_table_with_meta(tables[0])
    unlabeled = save_table(
        tmp_path / "nolabel" / "guest.npz", Table(guest.ids, guest.header, guest.features)
    )
    predicted = predict((unlabeled, tables[1]), trained, tmp_path / "p", BASE)
    table, meta = scores(predicted[GUEST])
    assert table.labels is None and "label" not in meta["columns"]
    assert predicted[GUEST].metrics == {}
    np.testing.assert_array_equal(table.features, scores(trained[GUEST])[0].features)
