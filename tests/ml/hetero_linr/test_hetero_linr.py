"""HeteroLinR on the shared GLM protocol: the federated fit is the plaintext least squares."""

from __future__ import annotations

from functools import cache, partial

import numpy as np
import pytest
from glm_support import make_regression

from fedloom.crypto import PaillierPrivateKey, PaillierPublicKey, generate_paillier_keypair
from fedloom.federation import JobParties, PartyFailed, run_parties
from fedloom.ml.glm import HeteroLRParam
from fedloom.ml.hetero_linr import HeteroLinRArbiter, HeteroLinRGuest, HeteroLinRHost
from tests.ml.hetero_lr.lr_support import fit_parties, reference_fit

ROLES = (HeteroLinRGuest, HeteroLinRHost, HeteroLinRArbiter)
fit = partial(fit_parties, roles=ROLES)
EXACT = {"floating_point_precision": 53, "init_param": {"init_method": "zeros", "random_seed": 3}}


@pytest.mark.integration
@pytest.mark.parametrize(
    ("optimizer", "penalty"), [("sgd", "L2"), ("rmsprop", None), ("adam", "L1")]
)
def test_federated_linr_equals_the_plaintext_reference(optimizer: str, penalty: str | None) -> None:
    xg, y, hosts, _ = make_regression()
    param = HeteroLRParam(
        optimizer=optimizer,
        penalty=penalty,
        alpha=0.01,
        learning_rate=0.05,
        max_iter=6,
        batch_size=50,
        early_stop="diff",
        tol=0.0,
        **EXACT,
    )
    _, guest, host_roles, arbiter = fit(param, xg, y, hosts)
    wg, b, whs, losses = reference_fit(param, xg, y, hosts, "linear")
    assert guest.model and host_roles[0].model and arbiter.model
    np.testing.assert_allclose(guest.model.weights, wg, atol=1e-9)
    assert guest.model.intercept == pytest.approx(b, abs=1e-9)
    np.testing.assert_allclose(host_roles[0].model.weights, whs[0], atol=1e-9)
    np.testing.assert_allclose(arbiter.model.loss_history, losses, atol=1e-9)
    assert losses[-1] < losses[0]


@pytest.mark.integration
def test_linr_with_two_hosts_predicts_values() -> None:
    xg, y, hosts, _ = make_regression(rows=150, host_cols=(2, 2))
    param = HeteroLRParam(
        optimizer="sgd",
        alpha=0.001,
        learning_rate=0.3,
        decay=0.0,
        max_iter=60,
        early_stop="weight_diff",
        tol=0.0,
        **EXACT,
    )
    _, guest, host_roles, _ = fit(param, xg, y, hosts)
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
    values = predicted.results[parties.guest]
    assert float(np.sqrt(np.mean((values - y) ** 2))) < 0.5 * float(np.std(y))


@pytest.mark.integration
def test_linr_loss_needs_one_host() -> None:
    xg, y, hosts, _ = make_regression(host_cols=(2, 2))
    with pytest.raises(PartyFailed, match="weight_diff"):
        fit(HeteroLRParam(early_stop="diff", **EXACT), xg, y, hosts)


@cache
def _keys() -> tuple[PaillierPublicKey, PaillierPrivateKey]:
    return generate_paillier_keypair(512)


@pytest.mark.integration
@pytest.mark.slow
def test_linr_with_real_paillier_matches_the_stand_in() -> None:
    xg, y, hosts, _ = make_regression(rows=40)
    param = HeteroLRParam(
        optimizer="sgd",
        learning_rate=0.1,
        max_iter=3,
        early_stop="diff",
        tol=0.0,
        encrypt_param={"key_length": 512},
        init_param={"init_method": "zeros"},
    )
    _, plain, _, plain_arbiter = fit(param, xg, y, hosts)
    _, real, _, real_arbiter = fit(param, xg, y, hosts, keygen=lambda bits: _keys())
    assert plain.model and real.model and plain_arbiter.model and real_arbiter.model
    np.testing.assert_allclose(real.model.weights, plain.model.weights, atol=1e-6)
    np.testing.assert_allclose(
        real_arbiter.model.loss_history, plain_arbiter.model.loss_history, rtol=1e-6
    )
