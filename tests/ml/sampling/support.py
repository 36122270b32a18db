"""Helpers of the sampling tests: run a component at every party in one process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fedloom.components import InputArtifact, TaskHooks, TaskResult, run_task, save_table
from fedloom.crypto import generate_plain_keypair
from fedloom.data import Table
from fedloom.federation import JobParties, KeyRing, Party, run_parties

TWO = JobParties.of(guest=9999, hosts=[10000])
THREE = JobParties.of(guest=9999, hosts=[10000], arbiter=10001)
PLAIN = TaskHooks(keygen=generate_plain_keypair)
Inputs = dict[Party, dict[str, InputArtifact]]


def relaxed() -> KeyRing:
    """Admit the plaintext stand-in (tests only)."""
    return KeyRing(min_key_length=256, allow_plain=True)


def data(path: Path) -> InputArtifact:
    """A data-table input."""
    return InputArtifact("data", path)


def model(result: TaskResult) -> InputArtifact:
    """A task's model output as a model input."""
    assert result.model is not None
    return InputArtifact("model", result.model)


def run(
    module: str,
    params: dict[str, Any],
    inputs: Inputs,
    out: Path,
    parties: JobParties = TWO,
    *,
    only: dict[Party, dict[str, Any]] | None = None,
) -> dict[Party, TaskResult]:
    """Run ``module`` at every party of ``parties`` in threads; results by party. ``only``
    replaces ``params`` at the parties it names."""

    def task(party: Party) -> Callable[[Any], TaskResult]:
        own = (only or {}).get(party, params)

        def go(ctx: Any) -> TaskResult:
            return run_task(
                module,
                party.role,
                party.party_id,
                ctx.sub("cpn_0"),
                dict(own),
                inputs.get(party, {}),
                out / f"{party.role}_{party.party_id}",
                hooks=PLAIN,
            )

        return go

    harness = run_parties(parties, {p: task(p) for p in parties.all}, keyring=relaxed, timeout=30)
    return harness.results


def vertical(
    out: Path, rows: int = 200, seed: int = 3, positive: float = 0.5, shuffle_host: bool = False
) -> tuple[Path, Path]:
    """Aligned guest (labels + x0..x2) and host (h0..h3) tables of one binary problem with
    roughly ``positive`` of the labels 1; the host's rows optionally in another order."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 7))
    z = x @ rng.normal(size=7)
    y = (z > np.quantile(z, 1 - positive)).astype(np.float64)
    ids = [f"id{i:04d}" for i in range(rows)]
    guest = save_table(out / "guest.npz", Table(ids, ["x0", "x1", "x2"], x[:, :3], y))
    order = rng.permutation(rows) if shuffle_host else np.arange(rows)
    host_ids = [ids[i] for i in order]
    host = save_table(out / "host.npz", Table(host_ids, ["h0", "h1", "h2", "h3"], x[order, 3:]))
    return guest, host
