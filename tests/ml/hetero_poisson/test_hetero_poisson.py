"""HeteroPoisson on the shared GLM protocol: exposure offset, exp(z_h) from the host."""

from __future__ import annotations

from functools import cache, partial

import numpy as np
import pytest

from fedloom.crypto import CipherVector, PaillierPrivateKey, PaillierPublicKey
from fedloom.crypto import generate_paillier_keypair as paillier_keypair
from fedloom.federation import JobParties, PartyFailed, run_parties
from fedloom.ml.glm import HeteroLRParam
from fedloom.ml.hetero_poisson import HeteroPoissonArbiter, HeteroPoissonGuest, HeteroPoissonHost
from tests.ml.hetero_linr.glm_support import make_regression
from tests.ml.hetero_lr.lr_support import fit_parties, reference_fit

ROLES = (HeteroPoissonGuest, HeteroPoissonHost, HeteroPoissonArbiter)
fit = partial(fit_parties, roles=ROLES)
EXACT = {"floating_point_precision": 53, "init_param": {"init_method": "zeros", "random_seed": 3}}


@pytest.mark.integration
@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_federated_poisson_equals_the_plaintext_reference(optimizer: str) -> None:
    xg, y, hosts, exposure = make_regression(poisson=True)
    param = HeteroLRParam(
        optimizer=optimizer,
        alpha=0.01,
        learning_rate=0.05,
        max_iter=6,
        early_stop="diff",
        tol=0.0,
        **EXACT,
    )
    offset = np.log(exposure)
    result, guest, host_roles, arbiter = fit(param, xg, y, hosts, offset=offset)
    wg, b, whs, losses = reference_fit(param, xg, y, hosts, "poisson", offset)
    assert guest.model and host_roles[0].model and arbiter.model
    np.testing.assert_allclose(guest.model.weights, wg, atol=1e-9)
    assert guest.model.intercept == pytest.approx(b, abs=1e-9)
    np.testing.assert_allclose(host_roles[0].model.weights, whs[0], atol=1e-9)
    np.testing.assert_allclose(arbiter.model.loss_history, losses, atol=1e-9)
    assert losses[-1] < losses[0]
    names = {
        r.tag.rsplit("/", 1)[-1]
        for r in result.received[JobParties.of(guest=9999, hosts=[10000], arbiter=8888).guest]
    }
    assert {"forward", "forward_linear"} <= names and "forward_square" not in names


@pytest.mark.integration
def test_poisson_prediction_is_the_expected_count_with_exposure() -> None:
    xg, y, hosts, exposure = make_regression(rows=200, poisson=True, seed=3)
    param = HeteroLRParam(
        optimizer="rmsprop",
        alpha=0.001,
        learning_rate=0.1,
        max_iter=40,
        early_stop="weight_diff",
        tol=0.0,
        **EXACT,
    )
    _, guest, host_roles, _ = fit(param, xg, y, hosts, offset=np.log(exposure))
    parties = JobParties.of(guest=9999, hosts=[10000], arbiter=8888)
    predicted = run_parties(
        parties,
        {
            parties.guest: lambda ctx: guest.predict(ctx, xg, offset=np.log(exposure)),
            parties.hosts[0]: lambda ctx: host_roles[0].predict(ctx, hosts[0]),
            parties.arbiter: lambda ctx: None,
        },
    )
    mu = predicted.results[parties.guest]
    assert guest.model is not None and host_roles[0].model is not None
    z = xg @ guest.model.weights + guest.model.intercept + hosts[0] @ host_roles[0].model.weights
    np.testing.assert_allclose(mu, exposure * np.exp(z), rtol=1e-12)
    baseline = float(np.mean((y - exposure * y.sum() / exposure.sum()) ** 2))
    assert float(np.mean((y - mu) ** 2)) < baseline


@pytest.mark.integration
def test_poisson_needs_exactly_one_host_and_counts() -> None:
    xg, y, hosts, _ = make_regression(host_cols=(2, 2), poisson=True)
    param = HeteroLRParam(early_stop="weight_diff", **EXACT)
    with pytest.raises(PartyFailed, match="exactly one host"):
        fit(param, xg, y, hosts)
    xg, y, hosts, _ = make_regression(poisson=True)
    y[5] = -1.0
    with pytest.raises(PartyFailed, match=r"label\[5\] is -1.0; Poisson labels must be ≥ 0"):
        fit(param, xg, y, hosts)


@cache
def _keys() -> tuple[PaillierPublicKey, PaillierPrivateKey]:
    return paillier_keypair(1024)


@pytest.mark.integration
@pytest.mark.slow
def test_poisson_with_real_paillier_matches_the_stand_in() -> None:
    xg, y, hosts, exposure = make_regression(rows=40, poisson=True)
    param = HeteroLRParam(
        learning_rate=0.1,
        max_iter=3,
        early_stop="diff",
        tol=0.0,
        encrypt_param={"key_length": 1024},
        init_param={"init_method": "zeros"},
    )
    offset = np.log(exposure)
    _, plain, _, plain_arbiter = fit(param, xg, y, hosts, offset=offset)
    result, real, _, real_arbiter = fit(
        param, xg, y, hosts, offset=offset, keygen=lambda bits: _keys()
    )
    assert plain.model and real.model and plain_arbiter.model and real_arbiter.model
    np.testing.assert_allclose(real.model.weights, plain.model.weights, atol=1e-6)
    np.testing.assert_allclose(
        real_arbiter.model.loss_history, plain_arbiter.model.loss_history, rtol=1e-6
    )
    host = JobParties.of(guest=9999, hosts=[10000], arbiter=8888).hosts[0]
    residuals = [r.value for r in result.received[host] if r.tag.endswith("residual")]
    assert residuals and all(isinstance(v, CipherVector) for v in residuals)
