"""In-memory transport: all parties of a test or a single-process run share one broker."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from fedloom.federation.transport import Transport
from fedloom.federation.types import Envelope, FederationAborted, FederationTimeout, Party

_Key = tuple[str, Party, Party, str]


class InMemoryBroker:
    """Mailboxes of every party in one process, keyed by (job, src, dst, tag)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._boxes: defaultdict[_Key, deque[Envelope]] = defaultdict(deque)
        self._aborted: dict[str, str] = {}

    def push(self, envelope: Envelope) -> None:
        """Append the envelope to its mailbox and wake waiting receivers."""
        key = (envelope.job_id, envelope.src, envelope.dst, envelope.tag)
        with self._cond:
            self._boxes[key].append(envelope)
            self._cond.notify_all()

    def pull(self, job_id: str, src: Party, dst: Party, tag: str, timeout: float) -> Envelope:
        """Pop the oldest envelope of the key, waiting up to ``timeout`` seconds."""
        key = (job_id, src, dst, tag)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if job_id in self._aborted:
                    raise FederationAborted(f"job {job_id} aborted: {self._aborted[job_id]}")
                box = self._boxes.get(key)
                if box:
                    envelope = box.popleft()
                    if not box:
                        del self._boxes[key]
                    return envelope
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FederationTimeout(
                        f"no message {tag!r} from {src} to {dst} within {timeout:g} s"
                    )
                self._cond.wait(min(remaining, threading.TIMEOUT_MAX))

    def abort(self, job_id: str, reason: str) -> None:
        """Mark the job aborted and wake every receiver."""
        with self._cond:
            self._aborted[job_id] = reason
            for key in [k for k in self._boxes if k[0] == job_id]:
                del self._boxes[key]
            self._cond.notify_all()


class InMemoryTransport(Transport):
    """A :class:`Transport` over an :class:`InMemoryBroker` shared by all parties."""

    def __init__(self, broker: InMemoryBroker | None = None) -> None:
        self.broker = broker if broker is not None else InMemoryBroker()

    def push(self, envelope: Envelope) -> None:
        """Deliver into the shared broker."""
        self.broker.push(envelope)

    def pull(self, job_id: str, src: Party, dst: Party, tag: str, timeout: float) -> Envelope:
        """Take from the shared broker."""
        return self.broker.pull(job_id, src, dst, tag, timeout)

    def abort(self, job_id: str, reason: str) -> None:
        """Abort the job in the shared broker (visible to every party)."""
        self.broker.abort(job_id, reason)
