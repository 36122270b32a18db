"""HeteroLR over the plaintext stand-in: the protocol computes exactly the reference algorithm."""

from __future__ import annotations

import numpy as np
import pytest
from lr_support import fit_parties, make_data, reference_fit
from pydantic import ValidationError

from fedloom.crypto import CipherVector, RawPlaintexts
from fedloom.federation import JobParties, PartyFailed, run_parties
from fedloom.ml.evaluation import auc
from fedloom.ml.hetero_lr import HeteroLRGuest, HeteroLRHost, HeteroLRModel, HeteroLRParam

pytestmark = pytest.mark.integration

EXACT = {"floating_point_precision": 53, "init_param": {"init_method": "zeros", "random_seed": 3}}


@pytest.mark.parametrize(
    "optimizer", ["sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd"]
)
@pytest.mark.parametrize("penalty", ["L2", "L1", None])
def test_federated_weights_equal_the_plaintext_reference(
    optimizer: str, penalty: str | None
) -> None:
    xg, y, hosts = make_data()
    param = HeteroLRParam(
        optimizer=optimizer,
        penalty=penalty,
        alpha=0.05,
        learning_rate=0.1,
        max_iter=6,
        early_stop="diff",
        tol=0.0,
        **EXACT,
    )
    _, guest, host_roles, arbiter = fit_parties(param, xg, y, hosts)
    wg, b, whs, losses = reference_fit(param, xg, y, hosts)
    assert guest.model is not None and host_roles[0].model is not None
    np.testing.assert_allclose(guest.model.weights, wg, atol=1e-9)
    assert guest.model.intercept == pytest.approx(b, abs=1e-9)
    np.testing.assert_allclose(host_roles[0].model.weights, whs[0], atol=1e-9)
    assert arbiter.model is not None
    np.testing.assert_allclose(arbiter.model.loss_history, losses, atol=1e-9)
    assert guest.model.n_iter == 6 and not guest.model.converged


def test_mini_batches_with_shuffle_match_the_reference() -> None:
    xg, y, hosts = make_data(rows=150)
    param = HeteroLRParam(
        batch_size=40, learning_rate=0.05, max_iter=3, early_stop="weight_diff", tol=0.0, **EXACT
    )
    _, guest, host_roles, _ = fit_parties(param, xg, y, hosts)
    wg, b, whs, _ = reference_fit(param, xg, y, hosts)
    assert guest.model is not None and host_roles[0].model is not None
    np.testing.assert_allclose(guest.model.weights, wg, atol=1e-9)
    assert guest.model.intercept == pytest.approx(b, abs=1e-9)
    np.testing.assert_allclose(host_roles[0].model.weights, whs[0], atol=1e-9)


def test_two_hosts_train_and_predict() -> None:
    xg, y, hosts = make_data(rows=200, host_cols=(3, 2))
    param = HeteroLRParam(
        learning_rate=0.2, alpha=0.01, max_iter=15, early_stop="weight_diff", tol=0.0, **EXACT
    )
    _, guest, host_roles, _ = fit_parties(param, xg, y, hosts)
    wg, _, whs, _ = reference_fit(param, xg, y, hosts)
    assert guest.model is not None
    np.testing.assert_allclose(guest.model.weights, wg, atol=1e-9)
    for role, expected in zip(host_roles, whs, strict=True):
        assert role.model is not None
        np.testing.assert_allclose(role.model.weights, expected, atol=1e-9)
    parties = JobParties.of(guest=9999, hosts=[10000, 10001], arbiter=8888)
    predicted = run_parties(
        parties,
        {
            parties.guest: lambda ctx: guest.predict(ctx, xg),
            parties.hosts[0]: lambda ctx: host_roles[0].predict(ctx, hosts[0]),
            parties.hosts[1]: lambda ctx: host_roles[1].predict(ctx, hosts[1]),
            parties.arbiter: lambda ctx: None,
        },
    )
    scores = predicted.results[parties.guest]
    assert scores.shape == (200,) and np.all((scores > 0) & (scores < 1))
    assert auc(y, scores) > 0.9
    for host in parties.hosts:
        assert predicted.received[host] == []
    assert all(isinstance(r.value, np.ndarray) for r in predicted.received[parties.guest])


def test_loss_based_early_stop_is_refused_with_several_hosts() -> None:
    xg, y, hosts = make_data(host_cols=(2, 2))
    with pytest.raises(PartyFailed, match="weight_diff"):
        fit_parties(HeteroLRParam(early_stop="diff"), xg, y, hosts)


@pytest.mark.parametrize(
    ("early_stop", "tol"), [("diff", 1e-2), ("abs", 0.69), ("weight_diff", 5e-2)]
)
def test_early_stopping_ends_before_max_iter(early_stop: str, tol: float) -> None:
    xg, y, hosts = make_data()
    param = HeteroLRParam(
        early_stop=early_stop, tol=tol, max_iter=50, learning_rate=0.1, optimizer="sgd", **EXACT
    )
    _, guest, host_roles, arbiter = fit_parties(param, xg, y, hosts)
    assert guest.model is not None and host_roles[0].model is not None and arbiter.model
    assert guest.model.converged and host_roles[0].model.converged and arbiter.model.converged
    assert guest.model.n_iter == host_roles[0].model.n_iter == arbiter.model.n_iter < 50


def test_what_each_role_receives_during_fit() -> None:
    xg, y, hosts = make_data(rows=60)
    param = HeteroLRParam(max_iter=2, early_stop="diff", tol=0.0, **EXACT)
    result, *_ = fit_parties(param, xg, y, hosts)
    by_role = {p.role: r for p, r in result.received.items()}
    for item in by_role["host"]:
        name = item.tag.rsplit("/", 1)[-1]
        assert name in {"pubkey", "setup", "batches", "residual", "gradient_plain", "converged"}, (
            item.tag
        )
        if name == "residual":
            assert isinstance(item.value, CipherVector)
    for item in by_role["guest"]:
        name = item.tag.rsplit("/", 1)[-1]
        assert name in {
            "pubkey",
            "shape",
            "forward",
            "forward_square",
            "penalty",
            "gradient_plain",
            "converged",
        }, item.tag
        if name.startswith("forward") or name == "penalty":
            assert isinstance(item.value, CipherVector)
    for item in by_role["arbiter"]:
        name = item.tag.rsplit("/", 1)[-1]
        assert name in {"setup", "batch_sizes", "gradient", "loss"}, item.tag
        if name == "batch_sizes":
            assert item.value == [60]
        elif name == "setup":
            assert item.value == {"start": 0, "validate": False}
        else:
            assert isinstance(item.value, CipherVector)
    gradients_back = [i.value for i in by_role["guest"] if i.tag.endswith("gradient_plain")]
    assert gradients_back and all(isinstance(v, RawPlaintexts) for v in gradients_back)


def test_mismatched_rows_name_the_host() -> None:
    xg, y, hosts = make_data(rows=50)
    with pytest.raises(PartyFailed, match="host 10000 has 49 aligned rows"):
        fit_parties(HeteroLRParam(max_iter=1), xg, y, [hosts[0][:49]])


def test_bad_inputs_are_named() -> None:
    xg, y, hosts = make_data(rows=20)
    y_bad = y.copy()
    y_bad[4] = 2
    with pytest.raises(PartyFailed, match=r"label\[4\] is 2.0"):
        fit_parties(HeteroLRParam(max_iter=1), xg, y_bad, hosts)
    x_bad = xg.copy()
    x_bad[3, 1] = np.nan
    with pytest.raises(PartyFailed, match=r"guest features\[3, 1\] is nan"):
        fit_parties(HeteroLRParam(max_iter=1), x_bad, y, hosts)


def test_predict_without_model_is_an_error() -> None:
    with pytest.raises(ValueError, match="fitted or loaded model"):
        HeteroLRHost().predict(None, np.zeros((2, 2)))  # type: ignore[arg-type]


def test_model_round_trips_through_dict() -> None:
    model = HeteroLRModel("guest", np.array([0.5, -1.0]), 0.25, 7, True, [0.6, 0.5])
    again = HeteroLRModel.from_dict(model.to_dict())
    np.testing.assert_array_equal(again.weights, model.weights)
    assert (again.intercept, again.n_iter, again.converged, again.loss_history) == (
        0.25,
        7,
        True,
        [0.6, 0.5],
    )


def test_the_config_comes_from_the_fate_parameters_and_checks_types_only() -> None:
    from fedloom.components.hetero_lr_param import HeteroLogisticParam

    fate = HeteroLogisticParam.model_validate(
        {
            "penalty": "l2",
            "optimizer": "RMSProp",
            "early_stop": "Weight_Diff",
            "init_param": {"init_method": "Zeros"},
            "encrypt_param": {"method": "Paillier"},
        }
    )
    param = fate.to_ml()
    assert (param.penalty, param.optimizer, param.early_stop) == ("L2", "rmsprop", "weight_diff")
    assert param.init_param.init_method == "zeros" and param.encrypt_param.method == "paillier"
    assert HeteroLogisticParam.model_validate({"penalty": "none"}).to_ml().penalty is None
    with pytest.raises(ValidationError, match=r"init_param\.init_mehtod"):
        HeteroLRParam.model_validate({"init_param": {"init_mehtod": "zeros"}})
    with pytest.raises(ValidationError, match="optimizer"):
        HeteroLRParam.model_validate({"optimizer": "RMSProp"})  # canonical names only
    with pytest.raises(ValidationError, match="max_iter"):
        HeteroLRParam.model_validate({"max_iter": "5"})
    assert HeteroLRGuest().param == HeteroLRParam() == HeteroLogisticParam().to_ml()
