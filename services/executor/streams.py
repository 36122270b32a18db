"""Plumbing of the executor: a child's output as bounded log batches, and ordered event delivery."""

from __future__ import annotations

import logging
import threading
from collections import deque
from pathlib import Path
from typing import IO

from services.common.contracts import TaskEvent
from services.executor.events import EventSink

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 8192
MAX_PENDING_LINES = 10_000
BATCH_LINES = 200
BATCH_CHARS = 64 * 1024


class LogPump(threading.Thread):
    """Drains a child's output (so it never blocks on a full pipe) into a bounded buffer.

    Every byte also goes to ``log_path``. Lines longer than ``MAX_LINE_BYTES`` are split; when
    more than ``max_pending`` lines wait to be sent, newer ones are dropped and counted.
    """

    def __init__(self, stream: IO[bytes], log_path: Path, max_pending: int = MAX_PENDING_LINES):
        super().__init__(name=f"log-pump-{log_path.parent.name}", daemon=True)
        self._stream = stream
        self._log_path = log_path
        self._max_pending = max_pending
        self._pending: deque[str] = deque()
        self._dropped = 0
        self._lock = threading.Lock()

    def run(self) -> None:
        """Read lines until EOF."""
        try:
            with self._log_path.open("ab") as out:
                for raw in iter(lambda: self._stream.readline(MAX_LINE_BYTES), b""):
                    out.write(raw)
                    out.flush()
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    with self._lock:
                        if len(self._pending) < self._max_pending:
                            self._pending.append(line)
                        else:
                            self._dropped += 1
        except (OSError, ValueError) as exc:  # ValueError: the pipe was closed under us
            log.warning("reading task output stopped: %s", exc)
        finally:
            self._stream.close()

    def pending(self) -> int:
        """Lines waiting to be taken."""
        with self._lock:
            return len(self._pending) + (1 if self._dropped else 0)

    def take(self, max_lines: int = BATCH_LINES, max_chars: int = BATCH_CHARS) -> list[str]:
        """Up to ``max_lines`` lines / ``max_chars`` characters (at least one line if any)."""
        with self._lock:
            batch: list[str] = []
            if self._dropped:
                batch.append(f"[executor] {self._dropped} log line(s) dropped: output too fast")
                self._dropped = 0
            size = sum(len(line) for line in batch)
            while self._pending and len(batch) < max_lines:
                if batch and size + len(self._pending[0]) > max_chars:
                    break
                line = self._pending.popleft()
                batch.append(line)
                size += len(line) + 1
            return batch


class EventDispatcher:
    """Delivers events to a sink from one thread, in order, so a slow flow never stalls a task.

    ``log`` and ``heartbeat`` events are dropped when ``max_pending`` events already wait;
    ``started``, ``success`` and ``failed`` are always queued.
    """

    DROPPABLE = frozenset({"log", "heartbeat"})

    def __init__(self, sink: EventSink, max_pending: int = 1000) -> None:
        self.sink = sink
        self._max_pending = max_pending
        self._events: deque[TaskEvent | None] = deque()  # None: stop
        self._cond = threading.Condition()
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name="event-dispatcher", daemon=True)
        self._thread.start()

    def emit(self, event: TaskEvent) -> None:
        """Queue ``event`` for delivery (never blocks)."""
        with self._cond:
            if event.kind in self.DROPPABLE and len(self._events) >= self._max_pending:
                self._dropped += 1
                if self._dropped in (1, 100) or self._dropped % 1000 == 0:
                    log.warning("event sink is behind: %d event(s) dropped", self._dropped)
                return
            self._events.append(event)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._events:
                    self._cond.wait()
                item = self._events.popleft()
            if item is None:
                return
            try:
                self.sink.send(item)
            except Exception:
                log.exception("event sink raised on %s event of %s", item.kind, item.task_id)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout`` seconds), then stop the thread."""
        with self._cond:
            self._events.append(None)
            self._cond.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            with self._cond:
                left = sum(1 for e in self._events if e is not None)
            log.error("event dispatcher: %d event(s) not delivered at shutdown", left)
