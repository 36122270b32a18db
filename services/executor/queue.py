"""Task queues between a flow and its executors: in-process, or Redis for separate processes.

Contract (checked by ``tests/services/executor/test_queue.py`` for every implementation):

- ``put`` then ``get`` returns an equal :class:`TaskSpec`; tasks come out in FIFO order and each
  is taken by exactly one ``get``, also with several consumers;
- ``get(timeout)`` waits at most ``timeout`` seconds and returns ``None`` when nothing came;
  ``timeout <= 0`` does not wait;
- ``cancel(task_id)`` marks a task canceled whether it is queued, running or not yet known;
  ``is_canceled`` reports the mark. A canceled task is still handed out by ``get``: its executor
  reports it failed with reason ``canceled`` so the flow learns of it;
- after ``close()``, ``get`` returns ``None`` at once (a ``get`` blocked in another thread returns
  ``None`` too) and ``put`` raises :class:`QueueClosed`. ``close`` is idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from typing import cast

import redis
from pydantic import ValidationError

from services.common.contracts import TaskSpec

log = logging.getLogger(__name__)

DEFAULT_CANCEL_TTL_S = 7 * 24 * 3600.0


class QueueClosed(RuntimeError):
    """The queue was closed; no more tasks can be put on it."""


class TaskQueue(ABC):
    """Where a flow puts the :class:`TaskSpec` s of its party and executors take them."""

    @abstractmethod
    def put(self, spec: TaskSpec) -> None:
        """Enqueue one task (at the tail)."""

    @abstractmethod
    def get(self, timeout: float) -> TaskSpec | None:
        """Take the task at the head, waiting at most ``timeout`` seconds; ``None`` if none."""

    @abstractmethod
    def cancel(self, task_id: str) -> None:
        """Mark ``task_id`` canceled (queued, running or not yet enqueued)."""

    @abstractmethod
    def is_canceled(self, task_id: str) -> bool:
        """Whether ``task_id`` was marked canceled (and the mark has not expired)."""

    @abstractmethod
    def close(self) -> None:
        """Release resources and wake blocked consumers. Idempotent."""


class InMemoryTaskQueue(TaskQueue):
    """A thread-safe queue inside one process (the flow's embedded executor)."""

    def __init__(self, cancel_ttl_s: float = DEFAULT_CANCEL_TTL_S) -> None:
        self._tasks: deque[TaskSpec] = deque()
        self._canceled: dict[str, float] = {}
        self._cancel_ttl_s = cancel_ttl_s
        self._cond = threading.Condition()
        self._closed = False

    def put(self, spec: TaskSpec) -> None:
        """Enqueue a copy of ``spec`` (later changes by the caller do not leak in)."""
        with self._cond:
            if self._closed:
                raise QueueClosed("task queue is closed")
            self._tasks.append(spec.model_copy(deep=True))
            self._cond.notify()

    def get(self, timeout: float) -> TaskSpec | None:
        """Take the head task, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            while not self._tasks and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._closed:
                return None
            return self._tasks.popleft()

    def cancel(self, task_id: str) -> None:
        """Mark ``task_id`` canceled for ``cancel_ttl_s`` seconds."""
        now = time.monotonic()
        with self._cond:
            expired = [t for t, until in self._canceled.items() if until <= now]
            for t in expired:
                del self._canceled[t]
            self._canceled[task_id] = now + self._cancel_ttl_s

    def is_canceled(self, task_id: str) -> bool:
        """Whether ``task_id`` carries an unexpired cancel mark."""
        with self._cond:
            until = self._canceled.get(task_id)
            return until is not None and until > time.monotonic()

    def __len__(self) -> int:
        with self._cond:
            return len(self._tasks)

    def close(self) -> None:
        """Wake every waiting ``get``; queued tasks are dropped."""
        with self._cond:
            self._closed = True
            self._tasks.clear()
            self._cond.notify_all()


class RedisTaskQueue(TaskQueue):
    """The queue of one party in Redis, shared by the flow and any number of executors.

    Tasks are JSON in the list ``fedloom:{party_id}:tasks`` (``RPUSH`` / ``BLPOP``); a cancel
    is the key ``fedloom:{party_id}:canceled:{task_id}`` with a TTL. A task taken by an
    executor that dies before reporting is not redelivered: the flow's job timeout covers it.
    """

    def __init__(
        self,
        redis_url: str,
        party_id: int,
        *,
        cancel_ttl_s: float = DEFAULT_CANCEL_TTL_S,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.party_id = party_id
        self.tasks_key = f"fedloom:{party_id}:tasks"
        self._cancel_prefix = f"fedloom:{party_id}:canceled:"
        self._cancel_ttl_ms = max(1, int(cancel_ttl_s * 1000))
        self._redis = redis.Redis.from_url(
            redis_url, socket_connect_timeout=connect_timeout_s, health_check_interval=30
        )
        self._closed = threading.Event()

    def put(self, spec: TaskSpec) -> None:
        """``RPUSH`` the spec's JSON onto the party's list."""
        if self._closed.is_set():
            raise QueueClosed("task queue is closed")
        self._redis.rpush(self.tasks_key, spec.model_dump_json())

    def get(self, timeout: float) -> TaskSpec | None:
        """``BLPOP`` with a timeout (``LPOP`` when ``timeout <= 0``); malformed items are logged
        and skipped."""
        deadline = time.monotonic() + timeout
        while not self._closed.is_set():
            raw = self._pop(deadline - time.monotonic())
            if raw is None:
                return None
            try:
                return TaskSpec.model_validate_json(raw)
            except ValidationError as exc:
                log.error("dropping a malformed task from %s: %s", self.tasks_key, exc)
        return None

    def _pop(self, timeout: float) -> bytes | str | None:
        try:
            if timeout <= 0:
                return cast("bytes | None", self._redis.lpop(self.tasks_key))  # one item
            # BLPOP treats 0 as "forever"; keep a floor above zero.
            item = self._redis.blpop([self.tasks_key], timeout=max(timeout, 0.01))
            return None if item is None else item[1]
        except Exception:
            if self._closed.is_set():  # close() pulled the connection from under BLPOP
                return None
            raise

    def cancel(self, task_id: str) -> None:
        """Set the task's cancel key with the TTL."""
        self._redis.set(self._cancel_prefix + task_id, b"1", px=self._cancel_ttl_ms)

    def is_canceled(self, task_id: str) -> bool:
        """Whether the task's cancel key exists."""
        return bool(self._redis.exists(self._cancel_prefix + task_id))

    def close(self) -> None:
        """Close the connection pool (a blocked ``BLPOP`` ends with a connection error)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._redis.close()
