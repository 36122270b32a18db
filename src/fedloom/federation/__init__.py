"""Federation: how parties of a job exchange values (Context, serde, transports)."""

from fedloom.federation.context import Context, PartyGroup, PartyHandle
from fedloom.federation.harness import HarnessResult, PartyFailed, Received, run_parties
from fedloom.federation.memory_transport import InMemoryBroker, InMemoryTransport
from fedloom.federation.messenger import Messenger
from fedloom.federation.serde import KeyRing, Serde
from fedloom.federation.transport import Transport
from fedloom.federation.types import (
    Envelope,
    FederationAborted,
    FederationError,
    FederationTimeout,
    JobParties,
    Party,
    SerdeError,
)

__all__ = [
    "Context",
    "Envelope",
    "FederationAborted",
    "FederationError",
    "FederationTimeout",
    "HarnessResult",
    "InMemoryBroker",
    "InMemoryTransport",
    "JobParties",
    "KeyRing",
    "Messenger",
    "Party",
    "PartyFailed",
    "PartyGroup",
    "PartyHandle",
    "Received",
    "Serde",
    "SerdeError",
    "Transport",
    "run_parties",
]
