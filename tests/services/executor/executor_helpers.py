"""Shared helpers of the executor tests: task specs and an event recorder."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.common.contracts import TaskEvent, TaskSpec

TERMINAL = ("success", "failed")


def make_spec(
    output_dir: Path | str = "out", task_id: str | None = None, **changes: Any
) -> TaskSpec:
    """A guest task of a guest/host/arbiter job; ``changes`` override fields."""
    fields: dict[str, Any] = {
        "task_id": task_id or f"task-{uuid.uuid4().hex[:8]}",
        "job_id": "job-1",
        "component": "hetero_lr_0",
        "module": "HeteroLR",
        "role": "guest",
        "party_id": 9999,
        "parties": {"guest": [9999], "host": [10000], "arbiter": [10001]},
        "params": {"max_iter": 3},
        "output_dir": str(output_dir),
        "proxy_address": "127.0.0.1:1",
        "flow_url": "http://127.0.0.1:1",
    }
    fields.update(changes)
    return TaskSpec.model_validate(fields)


class RecordingSink:
    """An EventSink that keeps every event and lets tests wait for one."""

    def __init__(self) -> None:
        self.events: list[TaskEvent] = []
        self._cond = threading.Condition()

    def send(self, event: TaskEvent) -> None:
        """Record ``event``."""
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def of(self, task_id: str, kind: str | None = None) -> list[TaskEvent]:
        """Events of one task (of one kind)."""
        with self._cond:
            return [e for e in self.events if e.task_id == task_id and kind in (None, e.kind)]

    def wait_for(self, predicate: Callable[[TaskEvent], bool], timeout: float = 15.0) -> TaskEvent:
        """The first event matching ``predicate``; fails the test after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching event in {timeout}s; got {self.events}")
                self._cond.wait(remaining)

    def wait_end(self, task_id: str, timeout: float = 15.0) -> TaskEvent:
        """The task's ``success`` or ``failed`` event."""
        return self.wait_for(lambda e: e.task_id == task_id and e.kind in TERMINAL, timeout)
