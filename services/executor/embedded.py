"""The flow's in-process executor (no Redis): an in-memory queue and an :class:`Executor`."""

from __future__ import annotations

from collections.abc import Mapping

from services.common.contracts import TaskSpec
from services.executor.events import EventSink
from services.executor.queue import InMemoryTaskQueue
from services.executor.settings import ExecutorSettings
from services.executor.worker import Executor


class EmbeddedExecutor:
    """Worker threads inside the flow process; each task still runs in its own child process."""

    def __init__(
        self,
        settings: ExecutorSettings,
        event_sink: EventSink,
        *,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.queue = InMemoryTaskQueue()
        self.executor = Executor(self.queue, settings, event_sink, extra_env=extra_env)

    def start(self) -> None:
        """Start the worker slots."""
        self.executor.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the slots (see :meth:`Executor.stop`) and close the queue (queued tasks drop)."""
        self.executor.stop(timeout)
        self.queue.close()

    def submit(self, spec: TaskSpec) -> None:
        """Queue a task; a free slot runs it."""
        self.queue.put(spec)

    def cancel(self, task_id: str) -> None:
        """Cancel a queued or running task; it is reported failed with reason ``canceled``."""
        self.executor.cancel(task_id)

    def running(self) -> list[str]:
        """Ids of the tasks running now."""
        return self.executor.running()

    def __enter__(self) -> EmbeddedExecutor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
