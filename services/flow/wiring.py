"""What a flow is wired to: control channel, task queue, executor, job planner.

``create_app(settings, wiring)`` takes a :class:`FlowWiring`; tests pass fakes, and
:func:`default_wiring` builds the real ones (proxy client, Redis queue or embedded executor,
``fedloom.dsl``), importing the other services only when called.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.common.contracts import ControlReply, ControlRequest, TaskSpec
from services.flow.planning import Planner, fedloom_planner
from services.flow.protocols import ControlChannel, TaskExecutor, TaskQueue
from services.flow.settings import FlowSettings

if TYPE_CHECKING:
    from services.executor.embedded import EmbeddedExecutor
    from services.proxy.client import ProxyClient

CONTROL_TIMEOUT_S = 15.0


class PeerUnreachable(ConnectionError):
    """A control message was not delivered (proxy, peer proxy or peer flow unreachable)."""


@dataclass
class FlowWiring:
    """The collaborators of one flow.

    ``executor`` (optional) is started and stopped with the app. ``queue_survives_restart``
    says whether queued and running tasks outlive the flow process (a Redis queue with separate
    executors): if not, a restarted flow fails the tasks it had handed to the lost queue.
    """

    channel: ControlChannel
    queue: TaskQueue
    planner: Planner = fedloom_planner
    executor: TaskExecutor | None = None
    queue_survives_restart: bool = False


class ProxyControlChannel:
    """A :class:`ControlChannel` through this site's proxy (``services.proxy.client``).

    The proxies answer ``ok: false`` both when a flow refuses and when a message could not be
    delivered; a flow's refusals carry ``body.refused = true``, so any other ``ok: false``
    reply is raised as :class:`PeerUnreachable`, which the scheduler retries.
    """

    def __init__(
        self,
        address: str,
        timeout_s: float = CONTROL_TIMEOUT_S,
        *,
        client: ProxyClient | None = None,
    ) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self._client = client
        self._lock = threading.Lock()

    def send(self, request: ControlRequest) -> ControlReply:
        """Forward ``request`` through the proxy; delivery failures raise."""
        with self._lock:
            if self._client is None:
                from services.proxy.client import ProxyClient

                self._client = ProxyClient(self.address, timeout=self.timeout_s)
            client = self._client
        reply = client.control(request)
        if not reply.ok and not reply.body.get("refused"):
            raise PeerUnreachable(reply.error)
        return reply

    def close(self) -> None:
        """Close the connection to the proxy."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class EmbeddedQueue:
    """The :class:`TaskQueue` face of the embedded executor (its own in-memory queue)."""

    def __init__(self, executor: EmbeddedExecutor) -> None:
        self._executor = executor

    def put(self, spec: TaskSpec) -> None:
        """Queue the task for the executor's worker slots."""
        self._executor.submit(spec)

    def cancel(self, task_id: str) -> None:
        """Kill the task (or drop it if still queued)."""
        self._executor.cancel(task_id)


def default_wiring(settings: FlowSettings) -> FlowWiring:
    """The proxy channel, and either the party's Redis queue (``REDIS_URL``; executors run as
    separate processes) or the embedded executor; jobs are planned with ``fedloom.dsl``."""
    channel = ProxyControlChannel(settings.proxy_address)
    if settings.redis_url:
        from services.executor.queue import RedisTaskQueue

        queue = RedisTaskQueue(settings.redis_url, settings.party_id)
        return FlowWiring(channel, queue, fedloom_planner, None, queue_survives_restart=True)
    from services.executor.embedded import EmbeddedExecutor
    from services.executor.events import HttpEventSink
    from services.executor.settings import ExecutorSettings

    executor_settings = ExecutorSettings(
        party_id=settings.party_id,
        token=settings.token,
        flow_url=settings.own_flow_url,
        proxy_address=settings.proxy_address,
        data_dir=settings.data_dir,
    )
    sink = HttpEventSink(settings.own_flow_url, settings.token)
    embedded = EmbeddedExecutor(executor_settings, sink)
    return FlowWiring(channel, EmbeddedQueue(embedded), fedloom_planner, embedded)
