"""Shared fixtures of the HeteroLinR and HeteroPoisson tests: data, plaintext references and a
runner of the three roles over the in-memory transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fedloom.crypto import generate_plain_keypair
from fedloom.federation import HarnessResult, JobParties, KeyRing, run_parties
from fedloom.ml.glm import GlmArbiter, GlmGuest, GlmHost, HeteroLRParam, Optimizer
from fedloom.ml.glm.batches import batch_rng, epoch_batches

Array = NDArray[np.float64]
Roles = tuple[type[GlmGuest], type[GlmHost], type[GlmArbiter]]


def make_regression(
    rows: int = 120,
    guest_cols: int = 3,
    host_cols: tuple[int, ...] = (4,),
    seed: int = 7,
    poisson: bool = False,
) -> tuple[Array, Array, list[Array], Array]:
    """(guest x, y, host xs, exposure): linear targets, or Poisson counts with exposure."""
    rng = np.random.default_rng(seed)
    total = guest_cols + sum(host_cols)
    x = rng.normal(size=(rows, total))
    w = rng.normal(size=total)
    exposure = rng.uniform(0.5, 2.0, size=rows)
    if poisson:
        y = rng.poisson(exposure * np.exp(0.3 * (x @ w) / np.sqrt(total))).astype(np.float64)
    else:
        y = x @ w + 0.1 * rng.normal(size=rows)
    parts, start = [], guest_cols
    for width in host_cols:
        parts.append(x[:, start : start + width])
        start += width
    return x[:, :guest_cols], y, parts, exposure


def relaxed_keyring() -> KeyRing:
    """Admit small and stand-in keys (tests only)."""
    return KeyRing(min_key_length=256, allow_plain=True)


def fit_glm(
    roles: Roles,
    param: HeteroLRParam,
    xg: Array,
    y: Array,
    hosts: list[Array],
    *,
    keygen: Callable[[int], Any] = generate_plain_keypair,
    offset: Array | None = None,
) -> tuple[HarnessResult, GlmGuest, list[GlmHost], GlmArbiter]:
    """Fit the three roles of one GLM in threads (the plaintext stand-in by default)."""
    guest_cls, host_cls, arbiter_cls = roles
    parties = JobParties.of(guest=9999, hosts=[10000 + i for i in range(len(hosts))], arbiter=8888)
    guest = guest_cls(param)
    host_roles = [host_cls(param) for _ in hosts]
    arbiter = arbiter_cls(param, keygen=keygen)
    tasks: dict[Any, Callable[[Any], Any]] = {
        parties.guest: lambda ctx: guest.fit(ctx, xg, y, offset=offset),
        parties.arbiter: arbiter.fit,
    }
    for party, role, data in zip(parties.hosts, host_roles, hosts, strict=True):
        tasks[party] = lambda ctx, role=role, data=data: role.fit(ctx, data)
    result = run_parties(parties, tasks, keyring=relaxed_keyring, timeout=60)
    return result, guest, host_roles, arbiter


def reference_glm(
    family: str,
    param: HeteroLRParam,
    xg: Array,
    y: Array,
    hosts: list[Array],
    offset: Array | None = None,
) -> tuple[Array, float, list[Array], list[float]]:
    """The same algorithm in one place, in plaintext: (guest w, intercept, host ws, losses)."""
    rows = len(y)
    shift = np.zeros(rows) if offset is None else offset
    design = np.hstack([xg, np.ones((rows, 1))])
    cg = np.zeros(design.shape[1])
    chs = [np.zeros(h.shape[1]) for h in hosts]
    opt_g = Optimizer(param, design.shape[1], np.array([True] * xg.shape[1] + [False]))
    opt_hs = [Optimizer(param, h.shape[1], np.ones(h.shape[1], dtype=bool)) for h in hosts]
    rng = batch_rng(param)
    losses: list[float] = []
    for epoch in range(param.max_iter):
        total, seen = 0.0, 0
        for idx in epoch_batches(param, rows, rng):
            z = design[idx] @ cg + shift[idx]
            z = z + sum(h[idx] @ c for h, c in zip(hosts, chs, strict=True))
            if family == "linear":
                d = z - y[idx]
                data_loss = float(np.mean(0.5 * d * d))
            else:
                mu = np.exp(z)
                d = mu - y[idx]
                data_loss = float(np.mean(mu - y[idx] * z))
            penalty = opt_g.penalty_loss(cg) + sum(
                o.penalty_loss(c) for o, c in zip(opt_hs, chs, strict=True)
            )
            total += (data_loss + penalty) * idx.size
            seen += idx.size
            cg = opt_g.step(cg, design[idx].T @ d / idx.size, epoch)
            chs = [
                o.step(c, h[idx].T @ d / idx.size, epoch)
                for o, c, h in zip(opt_hs, chs, hosts, strict=True)
            ]
        losses.append(total / seen)
    return cg[:-1], float(cg[-1]), chs, losses
