"""The small interfaces the flow needs from the other services; integration wires real ones.

- :class:`ControlChannel`: flow-to-flow control messages (the real one goes through the proxy,
  see :class:`services.flow.wiring.ProxyControlChannel`).
- :class:`TaskQueue`: where this party's :class:`TaskSpec`\\ s go (in-process or Redis).
- :class:`TaskExecutor`: an executor whose life the flow manages (the embedded executor).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from services.common.contracts import ControlReply, ControlRequest, TaskSpec


class ControlChannel(Protocol):
    """Delivers a control message to the flow of ``request.dst_party_id`` and returns its reply.

    Raise any exception when the party cannot be reached (the scheduler retries within
    ``party_timeout_s``); return ``ControlReply(ok=False, error=...)`` when it refuses.
    """

    def send(self, request: ControlRequest) -> ControlReply:
        """Send one request and wait for the reply."""
        ...


class TaskQueue(Protocol):
    """The flow side of the task queue shared with this party's executors."""

    def put(self, spec: TaskSpec) -> None:
        """Enqueue one task."""
        ...

    def cancel(self, task_id: str) -> None:
        """Drop the task if still queued, or have its executor kill it if running."""
        ...


@runtime_checkable
class TaskExecutor(Protocol):
    """An executor that lives in the flow process; started and stopped with the app."""

    def start(self) -> None:
        """Start consuming the queue."""
        ...

    def stop(self) -> None:
        """Stop consuming and kill running tasks."""
        ...
