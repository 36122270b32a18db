"""The Context through which an algorithm talks to the other parties of its job.

``ctx.guest``, ``ctx.arbiter`` and ``ctx.hosts`` are handles with ``put(name, value)`` and
``get(name)``; ``ctx.sub(name)`` and ``ctx.iterations(n)`` give child contexts whose tags are
namespaced deterministically (``hetero_lr/iter-3/forward``), so every party derives the same tag
for the same message without coordination.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fedloom.federation.messenger import Messenger
from fedloom.federation.serde import Serde
from fedloom.federation.types import FederationError, JobParties, Party

Observer = Callable[[Party, str, Any], None]
"""Called as ``observer(src, tag, value)`` for every value this party receives (tests, audit)."""

_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"invalid tag component {name!r}: use letters, digits, '_', '.', '-'")
    return name


class PartyHandle:
    """Sends values to, and receives values from, one peer party."""

    def __init__(self, ctx: Context, party: Party) -> None:
        self._ctx = ctx
        self.party = party

    def put(self, name: str, value: Any) -> None:
        """Send ``value`` under this context's tag ``name``."""
        self._ctx._send(self.party, name, value)

    def get(self, name: str, timeout: float | None = None) -> Any:
        """Receive the value this peer sent under ``name`` (blocks until it arrives)."""
        return self._ctx._recv(self.party, name, timeout)

    def __repr__(self) -> str:
        return f"PartyHandle({self.party})"


class PartyGroup:
    """All parties of one role (the hosts): broadcast ``put``, gather ``get`` in party order."""

    def __init__(self, ctx: Context, parties: tuple[Party, ...]) -> None:
        self._handles = [PartyHandle(ctx, p) for p in parties]

    def __len__(self) -> int:
        return len(self._handles)

    def __getitem__(self, index: int) -> PartyHandle:
        return self._handles[index]

    def __iter__(self) -> Iterator[PartyHandle]:
        return iter(self._handles)

    def put(self, name: str, value: Any) -> None:
        """Send the same value to every party of the group."""
        for handle in self._handles:
            handle.put(name, value)

    def get(self, name: str, timeout: float | None = None) -> list[Any]:
        """Receive one value from each party of the group, in party order."""
        return [handle.get(name, timeout) for handle in self._handles]


class Context:
    """One party's view of a job: who it is, who its peers are, and namespaced messaging."""

    def __init__(
        self,
        *,
        local: Party,
        parties: JobParties,
        messenger: Messenger,
        serde: Serde | None = None,
        namespace: str = "",
        observer: Observer | None = None,
    ) -> None:
        if local not in parties.all:
            raise ValueError(f"{local} does not take part in this job")
        self.local = local
        self.parties = parties
        self.messenger = messenger
        self.serde = serde if serde is not None else Serde()
        self.namespace = namespace
        self.observer = observer

    @property
    def role(self) -> str:
        """This party's role in the job."""
        return self.local.role

    @property
    def party_id(self) -> int:
        """This party's id."""
        return self.local.party_id

    @property
    def job_id(self) -> str:
        """The job this context belongs to."""
        return self.messenger.job_id

    @property
    def is_guest(self) -> bool:
        """True at the guest."""
        return self.local.role == "guest"

    @property
    def is_host(self) -> bool:
        """True at a host."""
        return self.local.role == "host"

    @property
    def is_arbiter(self) -> bool:
        """True at the arbiter."""
        return self.local.role == "arbiter"

    @property
    def guest(self) -> PartyHandle:
        """The guest of the job."""
        if self.parties.guest is None:
            raise FederationError("this job has no guest")
        return PartyHandle(self, self.parties.guest)

    @property
    def arbiter(self) -> PartyHandle:
        """The arbiter of the job."""
        if self.parties.arbiter is None:
            raise FederationError("this job has no arbiter")
        return PartyHandle(self, self.parties.arbiter)

    @property
    def hosts(self) -> PartyGroup:
        """All hosts of the job, in the order the job lists them."""
        return PartyGroup(self, self.parties.hosts)

    def sub(self, name: str) -> Context:
        """A child context whose tags live under ``<namespace>/<name>``."""
        _check_name(name)
        namespace = f"{self.namespace}/{name}" if self.namespace else name
        return Context(
            local=self.local,
            parties=self.parties,
            messenger=self.messenger,
            serde=self.serde,
            namespace=namespace,
            observer=self.observer,
        )

    def iterations(self, count: int, start: int = 0) -> Iterator[tuple[int, Context]]:
        """Yield ``(i, ctx.sub("iter-i"))`` for i in ``[start, count)``."""
        for i in range(start, count):
            yield i, self.sub(f"iter-{i}")

    def batches(self, count: int) -> Iterator[tuple[int, Context]]:
        """Yield ``(b, ctx.sub("batch-b"))`` for each of ``count`` mini-batches."""
        for b in range(count):
            yield b, self.sub(f"batch-{b}")

    def _tag(self, name: str) -> str:
        _check_name(name)
        return f"{self.namespace}/{name}" if self.namespace else name

    def _send(self, dst: Party, name: str, value: Any) -> None:
        if dst == self.local:
            raise FederationError(f"{self.local} cannot send {name!r} to itself")
        self.messenger.send(dst, self._tag(name), self.serde.dumps(value))

    def _recv(self, src: Party, name: str, timeout: float | None) -> Any:
        tag = self._tag(name)
        value = self.serde.loads(self.messenger.recv(src, tag, timeout))
        if self.observer is not None:
            self.observer(src, tag, value)
        return value
