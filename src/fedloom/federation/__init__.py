"""Federation: how parties of a job exchange values (Context, serde, transports)."""

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from fedloom.federation.grpc_transport import GrpcTransport

__all__ = [
    "Context",
    "Envelope",
    "FederationAborted",
    "FederationError",
    "FederationTimeout",
    "GrpcTransport",
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


def __getattr__(name: str) -> object:
    # The gRPC transport is imported on first use, so that single-process code (ml/, tests,
    # the in-memory harness) does not load grpc.
    if name == "GrpcTransport":
        from fedloom.federation.grpc_transport import GrpcTransport

        return GrpcTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
