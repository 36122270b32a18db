"""Where an executor sends its :class:`TaskEvent` s: the flow's internal endpoint."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable
from urllib.parse import quote

import httpx

from services.common.contracts import TaskEvent

log = logging.getLogger(__name__)


@runtime_checkable
class EventSink(Protocol):
    """Receives task events; ``send`` must not raise (failures are the sink's to log)."""

    def send(self, event: TaskEvent) -> None:
        """Deliver one event."""


class HttpEventSink:
    """Posts events to ``POST {flow_url}/internal/v1/tasks/{task_id}/events`` with the token.

    Connection errors, timeouts, HTTP 429 and 5xx are retried with exponential backoff, at most
    ``max_attempts`` tries per event; other 4xx answers are not retried. An event that still
    cannot be delivered is logged and dropped: ``send`` never raises.
    """

    def __init__(
        self,
        flow_url: str,
        token: str,
        *,
        max_attempts: int = 6,
        backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
        timeout_s: float = 10.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.flow_url = flow_url.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers)
        self._closed = threading.Event()

    def url_for(self, task_id: str) -> str:
        """The endpoint that receives the events of ``task_id``."""
        return f"{self.flow_url}/internal/v1/tasks/{quote(task_id, safe='')}/events"

    def send(self, event: TaskEvent) -> None:
        """Post ``event``, retrying transient failures; returns when delivered or given up."""
        url = self.url_for(event.task_id)
        body = event.model_dump_json()
        delay = self.backoff_s
        for attempt in range(1, self.max_attempts + 1):
            problem = self._post(url, body)
            if problem is None:
                return
            transient, reason = problem
            if not transient or attempt == self.max_attempts or self._closed.is_set():
                log.error(
                    "dropping %s event of task %s after %d attempt(s): %s",
                    event.kind,
                    event.task_id,
                    attempt,
                    reason,
                )
                return
            log.warning("%s event of task %s: %s; retrying", event.kind, event.task_id, reason)
            self._closed.wait(delay)
            delay = min(delay * 2, self.max_backoff_s)

    def _post(self, url: str, body: str) -> tuple[bool, str] | None:
        """``None`` when accepted, else (transient, reason)."""
        try:
            response = self._client.post(
                url, content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.TransportError as exc:
            return True, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a broken client must not take the worker down
            return False, f"{type(exc).__name__}: {exc}"
        if response.is_success:
            return None
        reason = f"HTTP {response.status_code}: {response.text[:200]}"
        return response.status_code == 429 or response.status_code >= 500, reason

    def close(self) -> None:
        """Stop retrying pending sends and close the HTTP client. Idempotent."""
        self._closed.set()
        self._client.close()


class CallbackEventSink:
    """Hands events to a function (the flow's embedded mode can record them directly)."""

    def __init__(self, callback: Callable[[TaskEvent], None]) -> None:
        self._callback = callback

    def send(self, event: TaskEvent) -> None:
        """Call the callback; an exception is logged, never raised."""
        try:
            self._callback(event)
        except Exception:
            log.exception(
                "event callback failed for %s event of task %s", event.kind, event.task_id
            )
