"""The sqn optimizer: the federated steps equal a plaintext L-BFGS-style reference."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from lr_support import fit_parties, make_data

from fedloom.crypto import PaillierPrivateKey, PaillierPublicKey, generate_paillier_keypair
from fedloom.federation import PartyFailed
from fedloom.ml.glm.batches import batch_rng, epoch_batches
from fedloom.ml.hetero_linr import HeteroLinRArbiter, HeteroLinRGuest, HeteroLinRHost
from fedloom.ml.hetero_lr import HeteroLRParam, Optimizer

pytestmark = pytest.mark.integration

Array = np.ndarray


def reference_sqn(
    param: HeteroLRParam, xg: Array, y: Array, hosts: list[Array], linear: bool = False
) -> tuple[Array, float, list[Array]]:
    """SQN on the joined matrix (logistic, or ``linear`` least squares): (guest w, intercept,
    host ws)."""
    c = 1.0 if linear else 0.25
    rows = len(y)
    x = np.hstack([xg, np.ones((rows, 1)), *hosts])
    penalised = np.array([True] * xg.shape[1] + [False] + [True] * sum(h.shape[1] for h in hosts))
    opt = Optimizer(param, x.shape[1], penalised)
    sqn = param.sqn_param
    w = np.zeros(x.shape[1])
    rng, sample_rng = batch_rng(param), np.random.default_rng(sqn.random_seed)
    pairs: list[tuple[Array, Array, float]] = []
    gamma, total, average, steps = 1.0, np.zeros_like(w), None, 0
    for epoch in range(param.max_iter):
        for idx in epoch_batches(param, rows, rng):
            z = x[idx] @ w
            d = z - y[idx] if linear else 0.25 * z + 0.5 - y[idx]
            g = x[idx].T @ d / idx.size + param.alpha * penalised * w
            q, alphas = g.copy(), []
            for s, yv, rho in reversed(pairs):
                alphas.append(rho * (s @ q))
                q = q - alphas[-1] * yv
            r = gamma * q
            for (s, yv, rho), a in zip(pairs, reversed(alphas), strict=True):
                r = r + s * (a - rho * (yv @ r))
            w = w - opt.learning_rate(epoch) * (r if pairs else g)
            total, steps = total + w, steps + 1
            if steps % sqn.update_interval_L == 0:
                mean = total / sqn.update_interval_L
                total = np.zeros_like(w)
                if average is not None:
                    s = mean - average
                    size = min(sqn.sample_size, rows)
                    sample = np.sort(sample_rng.choice(rows, size=size, replace=False))
                    yv = x[sample].T @ (c * (x[sample] @ s)) / size
                    if s @ yv > 0:
                        pairs = [*pairs, (s, yv, 1.0 / (s @ yv))][-sqn.memory_M :]
                        gamma = (s @ yv) / (yv @ yv)
                average = mean
    width, start = xg.shape[1], xg.shape[1] + 1
    host_ws = []
    for h in hosts:
        host_ws.append(w[start : start + h.shape[1]])
        start += h.shape[1]
    return w[:width], float(w[width]), host_ws


SQN = {
    "optimizer": "sqn",
    "penalty": "L2",
    "alpha": 0.01,
    "learning_rate": 0.3,
    "batch_size": 30,
    "early_stop": "weight_diff",
    "tol": 0.0,
    "floating_point_precision": 53,
    "init_param": {"init_method": "zeros", "random_seed": 3},
}


@pytest.mark.parametrize("hosts_cols", [(4,), (2, 3)])
def test_sqn_matches_the_plaintext_reference(hosts_cols: tuple[int, ...]) -> None:
    xg, y, hosts = make_data(rows=120, host_cols=hosts_cols)
    sqn_param = {"update_interval_L": 2, "memory_M": 3, "sample_size": 50, "random_seed": 5}
    param = HeteroLRParam(max_iter=5, sqn_param=sqn_param, **SQN)
    result, guest, host_roles, _ = fit_parties(param, xg, y, hosts)
    wg, b, whs = reference_sqn(param, xg, y, hosts)
    assert guest.model is not None
    np.testing.assert_allclose(guest.model.weights, wg, atol=1e-8)
    assert guest.model.intercept == pytest.approx(b, abs=1e-8)
    for role, expected in zip(host_roles, whs, strict=True):
        assert role.model is not None
        np.testing.assert_allclose(role.model.weights, expected, atol=1e-8)
    plain = HeteroLRParam(max_iter=5, **{**SQN, "optimizer": "sgd"})
    _, sgd_guest, _, _ = fit_parties(plain, xg, y, hosts)
    assert sgd_guest.model is not None
    assert not np.allclose(sgd_guest.model.weights, guest.model.weights)
    samples = [r for p, got in result.received.items() if p.role == "host" for r in got]
    assert any(r.tag.endswith("sqn_sample") for r in samples)


def test_sqn_of_linear_regression_matches_the_reference() -> None:
    xg, y, hosts = make_data(rows=120)
    y = xg.sum(axis=1) - hosts[0][:, 0]
    sqn_param = {"update_interval_L": 3, "memory_M": 2, "sample_size": 60, "random_seed": 2}
    param = HeteroLRParam(max_iter=4, sqn_param=sqn_param, **{**SQN, "learning_rate": 0.1})
    roles = (HeteroLinRGuest, HeteroLinRHost, HeteroLinRArbiter)
    _, guest, host_roles, _ = fit_parties(param, xg, y, hosts, roles=roles)
    wg, b, whs = reference_sqn(param, xg, y, hosts, linear=True)
    np.testing.assert_allclose(guest.model.weights, wg, atol=1e-8)
    assert guest.model.intercept == pytest.approx(b, abs=1e-8)
    np.testing.assert_allclose(host_roles[0].model.weights, whs[0], atol=1e-8)


def test_sqn_samples_a_host_could_solve_are_refused() -> None:
    xg, y, hosts = make_data(rows=60)
    param = HeteroLRParam(max_iter=1, sqn_param={"sample_size": 4}, **SQN)
    with pytest.raises(PartyFailed, match="sample_size gives samples of 4 rows"):
        fit_parties(param, xg, y, hosts)


@cache
def _keys() -> tuple[PaillierPublicKey, PaillierPrivateKey]:
    return generate_paillier_keypair(512)


@pytest.mark.slow
def test_sqn_with_real_paillier_matches_the_stand_in() -> None:
    xg, y, hosts = make_data(rows=60)
    settings = {**SQN, "floating_point_precision": 23, "batch_size": 20}
    param = HeteroLRParam(
        max_iter=3,
        sqn_param={"update_interval_L": 1, "memory_M": 2, "sample_size": 30, "random_seed": 1},
        encrypt_param={"key_length": 512},
        **settings,
    )
    _, plain, _, _ = fit_parties(param, xg, y, hosts)
    _, real, _, _ = fit_parties(param, xg, y, hosts, keygen=lambda bits: _keys())
    assert plain.model and real.model
    np.testing.assert_allclose(real.model.weights, plain.model.weights, atol=1e-5)
