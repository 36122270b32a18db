"""The one transport interface every implementation (in-memory, gRPC) provides."""

from __future__ import annotations

from abc import ABC, abstractmethod

from fedloom.federation.types import Envelope, Party


class Transport(ABC):
    """Moves envelopes between parties; FIFO per (job, src, dst, tag) key.

    Contract (checked by the transport contract suite in tests/federation):
    - an envelope pushed for a key is pulled exactly once, in push order for that key;
    - keys are independent: a pull never returns an envelope of another key;
    - ``pull`` blocks until an envelope arrives or ``timeout`` seconds pass, then raises
      :class:`~fedloom.federation.types.FederationTimeout` naming the source party and tag;
    - after ``abort(job_id)``, pending and later pulls for that job raise
      :class:`~fedloom.federation.types.FederationAborted`.
    """

    @abstractmethod
    def push(self, envelope: Envelope) -> None:
        """Deliver one envelope towards ``envelope.dst``."""

    @abstractmethod
    def pull(self, job_id: str, src: Party, dst: Party, tag: str, timeout: float) -> Envelope:
        """Take the next envelope of this key, waiting at most ``timeout`` seconds."""

    @abstractmethod
    def abort(self, job_id: str, reason: str) -> None:
        """Fail every pending and future pull of ``job_id`` with ``reason``."""

    def close(self) -> None:  # noqa: B027 - optional hook; in-memory has nothing to release
        """Release resources (connections, threads). Idempotent."""
