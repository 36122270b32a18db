"""HeteroLR's training options over the plaintext stand-in: optimizers, random batches, batch
safety, warm start and validation with early stopping."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from lr_support import fit_parties, make_data, reference_fit

from fedloom.federation import Party, PartyFailed
from fedloom.ml.glm.batches import smallest_batch
from fedloom.ml.glm.validation import EarlyStopping, metric_values
from fedloom.ml.hetero_lr import HeteroLRParam, Optimizer

pytestmark = pytest.mark.integration

EXACT = {"floating_point_precision": 53, "init_param": {"init_method": "zeros", "random_seed": 3}}


@pytest.mark.unit
def test_nesterov_momentum_follows_fates_update() -> None:
    param = HeteroLRParam(
        optimizer="nesterov_momentum_sgd", penalty=None, learning_rate=0.1, decay=0.0
    )
    opt = Optimizer(param, 1, np.array([True]))
    w = opt.step(np.array([1.0]), np.array([2.0]), 0)
    # v = 0.9·0 − 0.1·2 = −0.2; Δ = 0.9·0 − 1.9·(−0.2) = 0.38
    assert w == pytest.approx([1.0 - 0.38])
    w = opt.step(w, np.array([1.0]), 1)
    # v = 0.9·(−0.2) − 0.1·1 = −0.28; Δ = 0.9·(−0.2) − 1.9·(−0.28) = 0.352
    assert w == pytest.approx([0.62 - 0.352])


@pytest.mark.parametrize("optimizer", ["nesterov_momentum_sgd", "sgd"])
def test_random_batches_match_the_reference(optimizer: str) -> None:
    xg, y, hosts = make_data(rows=150)
    param = HeteroLRParam(
        optimizer=optimizer,
        batch_strategy="random",
        batch_size=50,
        learning_rate=0.1,
        max_iter=4,
        early_stop="diff",
        tol=0.0,
        **EXACT,
    )
    _, guest, host_roles, arbiter = fit_parties(param, xg, y, hosts)
    wg, b, whs, losses = reference_fit(param, xg, y, hosts)
    assert guest.model is not None and host_roles[0].model is not None and arbiter.model
    np.testing.assert_allclose(guest.model.weights, wg, atol=1e-9)
    assert guest.model.intercept == pytest.approx(b, abs=1e-9)
    np.testing.assert_allclose(host_roles[0].model.weights, whs[0], atol=1e-9)
    np.testing.assert_allclose(arbiter.model.loss_history, losses, atol=1e-9)


@pytest.mark.parametrize("masked_rate", [0.0, 1.0])
def test_masking_rows_hide_the_random_batch_and_change_nothing(masked_rate: float) -> None:
    xg, y, hosts = make_data(rows=120)
    param = HeteroLRParam(
        batch_strategy="random",
        batch_size=30,
        masked_rate=masked_rate,
        learning_rate=0.1,
        max_iter=3,
        early_stop="diff",
        tol=0.0,
        **EXACT,
    )
    result, guest, host_roles, arbiter = fit_parties(param, xg, y, hosts)
    wg, b, whs, losses = reference_fit(param, xg, y, hosts)
    assert guest.model and host_roles[0].model and arbiter.model
    np.testing.assert_allclose(guest.model.weights, wg, atol=1e-9)
    assert guest.model.intercept == pytest.approx(b, abs=1e-9)
    np.testing.assert_allclose(host_roles[0].model.weights, whs[0], atol=1e-9)
    np.testing.assert_allclose(arbiter.model.loss_history, losses, atol=1e-9)
    sent = [r.value for r in result.received[Party("host", 10000)] if r.tag.endswith("batches")]
    assert [len(v) for v in sent] == [1, 1, 1]
    assert {v[0].size for v in sent} == {30 if masked_rate == 0 else 60}
    sizes = [r.value for r in result.received[Party("arbiter", 8888)] if r.tag.endswith("sizes")]
    assert sizes == [[30]] * 3


@pytest.mark.parametrize(("rows", "batch_size"), [(60, 4), (41, 20), (3, -1)])
def test_batches_a_host_could_solve_for_residuals_are_refused(rows: int, batch_size: int) -> None:
    xg, y, hosts = make_data(rows=rows)
    param = HeteroLRParam(batch_size=batch_size, max_iter=1, **EXACT)
    with pytest.raises(PartyFailed, match="host with 4 features could solve"):
        fit_parties(param, xg, y, hosts)


@pytest.mark.unit
def test_smallest_batch() -> None:
    assert smallest_batch(HeteroLRParam(batch_size=20), 41) == 1
    assert smallest_batch(HeteroLRParam(batch_size=20), 40) == 20
    assert smallest_batch(HeteroLRParam(batch_size=20, batch_strategy="random"), 41) == 20
    assert smallest_batch(HeteroLRParam(), 41) == 41


def test_warm_start_continues_the_iterations_of_the_saved_model() -> None:
    xg, y, hosts = make_data()
    settings = {"optimizer": "sgd", "learning_rate": 0.2, "early_stop": "diff", "tol": 0.0}
    _, g3, h3, a3 = fit_parties(HeteroLRParam(max_iter=3, **settings, **EXACT), xg, y, hosts)
    assert g3.model and h3[0].model and a3.model
    long = HeteroLRParam(max_iter=7, **settings, **EXACT)
    warm = {"guest": g3.model, "hosts": [h3[0].model], "arbiter": a3.model}
    _, guest, host_roles, arbiter = fit_parties(long, xg, y, hosts, warm=warm)
    wg, b, whs, losses = reference_fit(long, xg, y, hosts)
    assert guest.model and host_roles[0].model and arbiter.model
    assert guest.model.n_iter == host_roles[0].model.n_iter == arbiter.model.n_iter == 7
    np.testing.assert_allclose(guest.model.weights, wg, atol=1e-9)
    assert guest.model.intercept == pytest.approx(b, abs=1e-9)
    np.testing.assert_allclose(host_roles[0].model.weights, whs[0], atol=1e-9)
    np.testing.assert_allclose(arbiter.model.loss_history, losses, atol=1e-9)


def test_warm_start_needs_every_partys_model_of_one_job() -> None:
    xg, y, hosts = make_data()
    param = HeteroLRParam(max_iter=2, **EXACT)
    _, g2, _, _ = fit_parties(param, xg, y, hosts)
    with pytest.raises(PartyFailed, match="continues from epoch 0, the guest's from 2"):
        fit_parties(HeteroLRParam(max_iter=4, **EXACT), xg, y, hosts, warm={"guest": g2.model})


def test_early_stopping_keeps_the_weights_of_the_best_validation() -> None:
    xg, y, hosts = make_data(rows=200, seed=11)
    vg, vy, vh = make_data(rows=80, seed=12)
    param = HeteroLRParam(
        optimizer="sgd",
        learning_rate=2.0,
        max_iter=40,
        early_stop="weight_diff",
        tol=0.0,
        validation_freqs=1,
        early_stopping_rounds=2,
        metrics=["auc"],
        **EXACT,
    )
    result, guest, host_roles, arbiter = fit_parties(param, xg, y, hosts, validate=(vg, vy, vh))
    assert guest.model and host_roles[0].model and arbiter.model
    model = guest.model
    aucs = [v["auc"] for v in model.validation]
    assert model.best_iteration == int(np.argmax(aucs))
    assert len(aucs) == model.n_iter < 40 and len(aucs) - 1 - model.best_iteration == 2
    assert (
        host_roles[0].model.best_iteration == arbiter.model.best_iteration == model.best_iteration
    )
    best = param.model_copy(update={"max_iter": model.best_iteration + 1})
    wg, b, whs, _ = reference_fit(best, xg, y, hosts)
    np.testing.assert_allclose(model.weights, wg, atol=1e-9)
    assert model.intercept == pytest.approx(b, abs=1e-9)
    np.testing.assert_allclose(host_roles[0].model.weights, whs[0], atol=1e-9)
    for item in result.received[Party("host", 10000)]:
        assert not isinstance(item.value, float), item.tag  # no metric reaches a host


def test_validation_rows_must_match_at_every_party() -> None:
    xg, y, hosts = make_data(rows=100)
    vg, vy, vh = make_data(rows=30, seed=2)
    param = HeteroLRParam(max_iter=2, validation_freqs=1, **EXACT)
    with pytest.raises(PartyFailed, match="host 10000 has 29 validation rows"):
        fit_parties(param, xg, y, hosts, validate=(vg, vy, [vh[0][:29]]))
    with pytest.raises(PartyFailed, match="no validation rows"):
        fit_parties(param, xg, y, hosts)


@pytest.mark.unit
def test_early_stopping_bookkeeping() -> None:
    stopper = EarlyStopping(["auc", "ks"], rounds=2)
    assert not stopper.record(0, {"auc": 0.7, "ks": 0.3})
    assert not stopper.record(1, {"auc": 0.8, "ks": 0.2})
    assert stopper.best_iteration == 1
    assert stopper.record(2, {"auc": 0.9, "ks": 0.25})  # ks has not improved for 2 rounds
    first_only = EarlyStopping(["auc", "ks"], rounds=2, first_only=True)
    for i, values in enumerate([(0.7, 0.3), (0.8, 0.2), (0.9, 0.1)]):
        assert not first_only.record(i, dict(zip(["auc", "ks"], values, strict=True)))
    errors = EarlyStopping(["root_mean_squared_error"], rounds=1)
    assert not errors.record(0, {"root_mean_squared_error": 2.0})
    assert not errors.record(1, {"root_mean_squared_error": 1.0})
    assert errors.record(2, {"root_mean_squared_error": 1.5}) and errors.best_iteration == 1
    y, p = np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.2, 0.9, 0.4, 0.6])
    values = metric_values("binary", ["auc", "accuracy", "recall"], y, p)
    assert values == {"auc": 0.75, "accuracy": 0.5, "recall": 0.5}


@pytest.mark.unit
def test_undefined_metrics_count_as_no_improvement() -> None:
    y, p = np.zeros(4), np.array([0.2, 0.9, 0.4, 0.6])
    values = metric_values("binary", ["auc", "accuracy"], y, p)
    assert values == {"auc": None, "accuracy": 0.5}
    stopper = EarlyStopping(["auc"], rounds=2)
    assert not stopper.record(0, values) and stopper.record(1, values)
    assert stopper.best_iteration == -1


@pytest.mark.unit
def test_hosts_check_the_batches_they_are_sent() -> None:
    from types import SimpleNamespace

    from fedloom.federation import FederationError
    from fedloom.ml.glm.batches import check_batches

    peer: Any = SimpleNamespace(party="guest 9999")
    full = HeteroLRParam()
    ok = check_batches([np.array([2, 0]), np.array([1])], 3, full, peer)
    assert [b.tolist() for b in ok] == [[2, 0], [1]]
    for bad, fragment in [
        ([np.array([0, 1])], "do not cover each row once"),
        ([np.array([0, 1, 1, 2])], "do not cover each row once"),
        ([np.array([0, 5])], r"outside 0\.\.2"),
        ([np.array([0.0, 1.0, 2.0])], "malformed batches"),
        (np.array([0, 1, 2]), "ndarray as 'batches'"),
    ]:
        with pytest.raises(FederationError, match=fragment):
            check_batches(bad, 3, full, peer)
    random = HeteroLRParam(batch_strategy="random", batch_size=2, masked_rate=1.0)
    assert check_batches([np.array([0, 1, 3, 4])], 6, random, peer)[0].size == 4
    with pytest.raises(FederationError, match="not 4 distinct rows"):
        check_batches([np.array([0, 1, 3])], 6, random, peer)
