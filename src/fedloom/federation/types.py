"""Parties, envelopes and the errors of the federation layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["guest", "host", "arbiter"]
ROLES: tuple[Role, ...] = ("guest", "host", "arbiter")


@dataclass(frozen=True, order=True)
class Party:
    """One role played by one institution in a job (a party id may play several roles)."""

    role: Role
    party_id: int

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; expected one of {', '.join(ROLES)}")

    def __str__(self) -> str:
        return f"{self.role} {self.party_id}"


@dataclass(frozen=True)
class JobParties:
    """Who plays which role in a job: one guest, zero or more hosts, at most one arbiter."""

    guest: Party | None = None
    hosts: tuple[Party, ...] = ()
    arbiter: Party | None = None

    @classmethod
    def of(
        cls,
        guest: int | None = None,
        hosts: tuple[int, ...] | list[int] = (),
        arbiter: int | None = None,
    ) -> JobParties:
        """Build from bare party ids."""
        return cls(
            guest=Party("guest", guest) if guest is not None else None,
            hosts=tuple(Party("host", h) for h in hosts),
            arbiter=Party("arbiter", arbiter) if arbiter is not None else None,
        )

    @property
    def all(self) -> tuple[Party, ...]:
        """Every party of the job: guest, hosts, arbiter."""
        parties = [p for p in (self.guest,) if p is not None] + list(self.hosts)
        return tuple(parties + ([self.arbiter] if self.arbiter is not None else []))


@dataclass(frozen=True)
class Envelope:
    """One chunk of one message between two parties, as it travels on the wire."""

    job_id: str
    src: Party
    dst: Party
    tag: str
    seq: int
    chunk_index: int
    chunk_count: int
    payload: bytes = field(repr=False)
    checksum: bytes = field(repr=False)


class FederationError(RuntimeError):
    """A message between parties could not be delivered or understood."""


class FederationTimeout(FederationError, TimeoutError):
    """No message arrived from a peer in time; the message names the peer and the tag."""


class FederationAborted(FederationError):
    """The job's federation was shut down (a peer failed or the job was canceled)."""


class SerdeError(FederationError, ValueError):
    """A payload is not valid fedloom wire format (or is refused by the security policy)."""
