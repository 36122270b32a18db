"""Run every party of a job in one process, each in its own thread, over the in-memory transport.

Used by tests and by the single-process demo. If one party fails, the job is aborted so that
its peers stop waiting, and :class:`PartyFailed` names the party that failed first.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fedloom.federation.context import Context
from fedloom.federation.memory_transport import InMemoryTransport
from fedloom.federation.messenger import Messenger
from fedloom.federation.serde import KeyRing, Serde
from fedloom.federation.transport import Transport
from fedloom.federation.types import FederationAborted, JobParties, Party


class PartyFailed(RuntimeError):
    """A party's task raised; ``party`` is who, ``__cause__`` is what."""

    def __init__(self, party: Party, error: BaseException) -> None:
        super().__init__(f"{party} failed: {type(error).__name__}: {error}")
        self.party = party
        self.error = error


@dataclass
class Received:
    """One value a party received: from whom, under which tag, and the decoded value."""

    src: Party
    tag: str
    value: Any


@dataclass
class HarnessResult:
    """What each party's task returned, and every value each party received."""

    results: dict[Party, Any]
    received: dict[Party, list[Received]] = field(default_factory=dict)


def run_parties(
    parties: JobParties,
    tasks: Mapping[Party, Callable[[Context], Any]],
    *,
    transport: Transport | None = None,
    keyring: Callable[[], KeyRing] = KeyRing,
    job_id: str | None = None,
    timeout: float = 120.0,
    chunk_size: int | None = None,
) -> HarnessResult:
    """Run ``tasks[party](ctx)`` for every party concurrently and collect the results.

    ``keyring`` builds each party's key policy (tests pass one that admits small or plain keys).
    ``timeout`` bounds every single receive, so a protocol bug fails instead of hanging.
    """
    missing = set(parties.all) - set(tasks)
    if missing:
        raise ValueError(f"no task for {', '.join(map(str, sorted(missing)))}")
    transport = transport if transport is not None else InMemoryTransport()
    job = job_id or f"job-{uuid.uuid4().hex[:12]}"
    results: dict[Party, Any] = {}
    received: dict[Party, list[Received]] = {p: [] for p in parties.all}
    errors: list[tuple[Party, BaseException]] = []
    lock = threading.Lock()

    def run(party: Party) -> None:
        kwargs: dict[str, Any] = {"timeout": timeout}
        if chunk_size is not None:
            kwargs["chunk_size"] = chunk_size
        log = received[party]
        ctx = Context(
            local=party,
            parties=parties,
            messenger=Messenger(transport, job, party, **kwargs),
            serde=Serde(keyring()),
            observer=lambda src, tag, value: log.append(Received(src, tag, value)),
        )
        try:
            value = tasks[party](ctx)
        except BaseException as exc:
            with lock:
                errors.append((party, exc))
            transport.abort(job, f"{party} failed: {exc}")
            return
        with lock:
            results[party] = value

    threads = [threading.Thread(target=run, args=(p,), name=str(p)) for p in parties.all]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        primary = [e for e in errors if not isinstance(e[1], FederationAborted)] or errors
        party, error = primary[0]
        raise PartyFailed(party, error) from error
    return HarnessResult(results, received)
