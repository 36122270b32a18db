"""Intersection: private sample alignment of the guest's and hosts' tables (FATE's module).

Parameters keep FATE's ``IntersectParam`` names (``intersection_param.py``); the protocols are
in ``fedloom.ml.psi`` (RSA blind signatures, X25519 ECDH, DH in RFC 3526 groups) and what each
option reveals to whom is in ``docs/psi.md``. The aligned rows come out in sorted id order,
identical at the guest and every synced host (with ``new_sample_id``: under the shared random
ids; with ``left_join`` followed by the guest's other rows, missing at the hosts). A
cardinality-only run outputs no table, only the ``intersect_count`` metric.

Caches (FATE ≥ 1.7): with ``run_cache`` the task also writes ``cache.npz`` (returned as
``TaskResult.cache``); a later task given it as ``input.cache`` (key ``cache``) skips the host's
own-id work. The file is ``numpy.savez`` of ``fedloom.ml.psi.cache.to_arrays`` (no pickle) and,
at the host, holds the host's private key: it is written readable by its owner only.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fedloom.components.base import PARTIES, ComponentDef, ComponentError, TaskCall, TaskResult
from fedloom.components.base import same_runner as _same_runner
from fedloom.components.intersection_param import CONSISTENT_PARAMS, IntersectionParam
from fedloom.components.io import load_table_with_meta, save_table
from fedloom.data import Table
from fedloom.ml.psi import (
    IntersectionError,
    IntersectionGuest,
    IntersectionHost,
    IntersectionResult,
)
from fedloom.ml.psi.cache import GuestCache, HostCache, from_arrays, to_arrays

CACHE_FILE = "cache.npz"


def read_cache(call: TaskCall) -> GuestCache | HostCache | None:
    """The ``cache`` input of this task, checked to be this role's half, or None."""
    artifact = call.inputs.get("cache")
    if artifact is None:
        return None
    artifact = call.input("cache", "cache", "an intersection cache")
    try:
        with np.load(artifact.path, allow_pickle=False) as archive:
            cache = from_arrays({name: archive[name] for name in archive.files})
    except (OSError, ValueError) as exc:
        raise ComponentError(f"Intersection input 'cache' is not a readable cache: {exc}") from exc
    expected = GuestCache if call.role == "guest" else HostCache
    if not isinstance(cache, expected):
        raise ComponentError(
            f"Intersection input 'cache' was written by another role, not the {call.role}"
        )
    return cache


def write_cache(path: Path, cache: GuestCache | HostCache) -> Path:
    """``cache`` as ``numpy.savez`` at ``path``, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        np.savez(out, allow_pickle=False, **to_arrays(cache))
    return path


def _aligned(table: Table, result: IntersectionResult) -> Table:
    """The output rows: the shared ones (under their new ids with ``new_sample_id``), then with
    ``left_join`` the guest's other rows (at a host: as rows of missing values)."""
    assert result.positions is not None
    if result.left_ids is None:
        aligned = table.take(result.positions)
        ids = result.new_ids if result.new_ids is not None else aligned.ids
        return Table(ids, aligned.header, aligned.features, aligned.labels, aligned.weights)
    assert result.new_ids is not None
    ids = result.new_ids + result.left_ids
    if result.left_positions is not None:  # the guest: all its rows
        rows = table.take(np.concatenate([result.positions, result.left_positions]))
        return Table(ids, rows.header, rows.features, rows.labels, rows.weights)
    shared = table.take(result.positions)
    missing = np.full((len(result.left_ids), len(table.header)), np.nan)
    features = np.vstack([shared.features, missing])
    labels = None
    if shared.labels is not None:
        labels = np.concatenate([shared.labels, np.full(len(result.left_ids), np.nan)])
    return Table(ids, shared.header, features, labels)


def run_intersection(call: TaskCall) -> TaskResult:
    """Intersection at the guest or a host: input ``data`` (and ``cache``) → aligned ``data``
    (and ``cache`` with ``run_cache``)."""
    param = call.params
    assert isinstance(param, IntersectionParam)
    table, _ = load_table_with_meta(call.input("data", "data", "the table to align").path)
    cache = read_cache(call)
    ml = param.to_ml()
    role: IntersectionGuest | IntersectionHost
    try:
        if call.role == "guest":
            assert cache is None or isinstance(cache, GuestCache)
            role = IntersectionGuest(ml, make_cache=param.run_cache, cache=cache)
        else:
            assert cache is None or isinstance(cache, HostCache)
            role = IntersectionHost(ml, make_cache=param.run_cache, cache=cache)
    except ValueError as exc:
        raise ComponentError(f"Intersection at the {call.role}: {exc}") from exc
    result = role.run(call.ctx, table.ids)
    metrics: dict[str, object] = {
        "intersect_method": ml.intersect_method,
        "input_count": len(table),
        "intersect_count": result.count,
    }
    if param.cardinality_only:
        metrics["cardinality_only"] = True
    written = None
    if result.cache is not None:
        written = write_cache(call.output_dir / CACHE_FILE, result.cache)
    if result.positions is None:
        return TaskResult(metrics=metrics, cache=written)
    metrics["intersect_rate"] = len(result.positions) / len(table) if len(table) else 0.0
    aligned = _aligned(table, result)
    if param.only_output_key:
        aligned = Table(aligned.ids, [], np.zeros((len(aligned), 0)), None)
    out = save_table(call.output_dir / "data.npz", aligned, {"source": "Intersection"})
    return TaskResult(data={"data": out}, metrics=metrics, cache=written)


INTERSECTION = ComponentDef(
    module="Intersection",
    roles=PARTIES,
    required_roles=("guest", "host"),
    param_model=IntersectionParam,
    runners=_same_runner(run_intersection, PARTIES),
    data_inputs={"data": (1, 1)},
    cache_inputs={"cache": (0, 1)},
    outputs=frozenset({"data", "cache"}),
    consistent_params=CONSISTENT_PARAMS,
)
"""The Intersection module's declaration."""

__all__ = ["INTERSECTION", "IntersectionError", "IntersectionParam", "run_intersection"]
