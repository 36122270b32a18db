"""Shared fixtures for the HeteroLR tests: data, a plaintext reference, a runner."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fedloom.crypto import generate_plain_keypair
from fedloom.federation import HarnessResult, JobParties, KeyRing, run_parties
from fedloom.ml.glm.batches import batch_rng, epoch_batches
from fedloom.ml.hetero_lr import (
    HeteroLRArbiter,
    HeteroLRGuest,
    HeteroLRHost,
    HeteroLRModel,
    HeteroLRParam,
    KeyGen,
    Optimizer,
)

Array = NDArray[np.float64]


def make_data(
    rows: int = 120, guest_cols: int = 3, host_cols: tuple[int, ...] = (4,), seed: int = 7
) -> tuple[Array, Array, list[Array]]:
    """A linearly separable-ish binary problem split between a guest and hosts."""
    rng = np.random.default_rng(seed)
    total = guest_cols + sum(host_cols)
    x = rng.normal(size=(rows, total))
    w = rng.normal(size=total)
    y = (x @ w + 0.5 * rng.normal(size=rows) > 0).astype(np.float64)
    parts, start = [], guest_cols
    for width in host_cols:
        parts.append(x[:, start : start + width])
        start += width
    return x[:, :guest_cols], y, parts


def plain_keygen(bits: int) -> Any:
    """The insecure stand-in, for fast protocol tests."""
    return generate_plain_keypair(bits)


def relaxed_keyring() -> KeyRing:
    """Admit small and stand-in keys (tests only)."""
    return KeyRing(min_key_length=256, allow_plain=True)


def fit_parties(
    param: HeteroLRParam,
    xg: Array,
    y: Array,
    hosts: list[Array],
    *,
    keygen: KeyGen | Callable[[int], Any] = plain_keygen,
    masking: bool = True,
    host_param: HeteroLRParam | None = None,
    warm: dict[str, Any] | None = None,
    validate: tuple[Array, Array, list[Array]] | None = None,
    roles: tuple[type[Any], type[Any], type[Any]] = (HeteroLRGuest, HeteroLRHost, HeteroLRArbiter),
    offset: Array | None = None,
) -> tuple[HarnessResult, Any, list[Any], Any]:
    """Fit guest, hosts and arbiter in threads over the in-memory transport (the hosts with
    ``host_param`` where given, e.g. another crypto backend; ``warm`` maps "guest", "hosts",
    "arbiter" to warm-start models; ``validate`` is (guest x, y, host xs) of validation rows;
    ``roles`` are the guest, host and arbiter classes, HeteroLR's by default; ``offset`` the
    guest's per-row offset)."""
    warm = warm or {}
    parties = JobParties.of(guest=9999, hosts=[10000 + i for i in range(len(hosts))], arbiter=8888)
    guest_cls, host_cls, arbiter_cls = roles
    guest = guest_cls(param, masking=masking)
    host_roles = [host_cls(host_param or param, masking=masking) for _ in hosts]
    arbiter = arbiter_cls(param, keygen=keygen)
    tasks: dict[Any, Callable[[Any], Any]] = {
        parties.guest: lambda ctx: guest.fit(
            ctx,
            xg,
            y,
            warm_start=warm.get("guest"),
            validate=None if validate is None else (validate[0], validate[1]),
            offset=offset,
        ),
        parties.arbiter: lambda ctx: arbiter.fit(ctx, warm_start=warm.get("arbiter")),
    }
    host_warm: list[HeteroLRModel | None] = warm.get("hosts") or [None] * len(hosts)
    host_validate: list[Array | None] = list(validate[2]) if validate else [None] * len(hosts)
    for i, (party, role, data) in enumerate(zip(parties.hosts, host_roles, hosts, strict=True)):
        tasks[party] = lambda ctx, role=role, data=data, i=i: role.fit(
            ctx, data, warm_start=host_warm[i], validate=host_validate[i]
        )
    result = run_parties(parties, tasks, keyring=relaxed_keyring, timeout=60)
    return result, guest, host_roles, arbiter


def reference_fit(
    param: HeteroLRParam,
    xg: Array,
    y: Array,
    hosts: list[Array],
    family: str = "logistic",
    offset: Array | None = None,
) -> tuple[Array, float, list[Array], list[float]]:
    """The same algorithm in one place, in plaintext: (guest w, intercept, host ws, losses)
    of the ``family`` ("logistic", "linear" or "poisson"; ``offset`` added to z)."""
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
            d, data_loss = _residual_and_loss(family, z, y[idx])
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


def _residual_and_loss(family: str, z: Array, y: Array) -> tuple[Array, float]:
    if family == "logistic":
        signed = 2 * y - 1
        return 0.25 * z + 0.5 - y, float(np.mean(math.log(2) - 0.5 * signed * z + 0.125 * z * z))
    if family == "linear":
        return z - y, float(np.mean(0.5 * (z - y) ** 2))
    mu = np.exp(z)
    return mu - y, float(np.mean(mu - y * z))
