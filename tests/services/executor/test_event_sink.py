"""HttpEventSink: delivery to the flow's internal endpoint, retries, and never raising."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from flaky_http import flaky_server

from services.common.contracts import ArtifactRef, TaskEvent, TaskOutputs
from services.executor.events import CallbackEventSink, EventSink, HttpEventSink

pytestmark = pytest.mark.unit


def free_port() -> int:
    """A port nothing listens on (closed again before use)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


EVENT = TaskEvent(
    task_id="job 1/guest",
    kind="success",
    outputs=TaskOutputs(model=ArtifactRef(kind="model", path="/o/m.json"), metrics={"auc": 0.7}),
)


def fast_sink(
    url: str, max_attempts: int = 6, backoff_s: float = 0.01, max_backoff_s: float = 0.05
) -> HttpEventSink:
    return HttpEventSink(
        url,
        "s3cret",
        max_attempts=max_attempts,
        backoff_s=backoff_s,
        max_backoff_s=max_backoff_s,
        timeout_s=2.0,
    )


def test_posts_the_event_json_with_the_token() -> None:
    with flaky_server() as server:
        sink = fast_sink(server.url + "/")
        sink.send(EVENT)
        sink.close()
    [request] = server.requests
    assert request.path == "/internal/v1/tasks/job%201%2Fguest/events"
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.headers["Content-Type"] == "application/json"
    assert TaskEvent.model_validate(json.loads(request.body)) == EVENT
    assert isinstance(sink, EventSink)


def test_retries_5xx_429_and_dropped_connections_then_delivers() -> None:
    with flaky_server(script=[503, "drop", 429, 502]) as server:
        sink = fast_sink(server.url)
        sink.send(EVENT)
        sink.close()
    assert len(server.requests) == 5
    assert len({r.body for r in server.requests}) == 1


def test_gives_up_after_max_attempts_without_raising() -> None:
    with flaky_server(default=503) as server:
        sink = fast_sink(server.url, max_attempts=3)
        sink.send(EVENT)
        sink.close()
    assert len(server.requests) == 3


def test_client_errors_are_not_retried() -> None:
    with flaky_server(script=[401]) as server:
        sink = fast_sink(server.url)
        sink.send(EVENT)
        sink.close()
    assert len(server.requests) == 1


def test_an_unreachable_flow_costs_bounded_time() -> None:
    sink = fast_sink(f"http://127.0.0.1:{free_port()}", max_attempts=4)
    start = time.monotonic()
    sink.send(EVENT)
    assert time.monotonic() - start < 5
    sink.close()


def test_a_flow_that_comes_up_late_still_gets_the_event() -> None:
    port = free_port()
    sink = fast_sink(f"http://127.0.0.1:{port}", max_attempts=20, backoff_s=0.1, max_backoff_s=0.1)
    sender = threading.Thread(target=sink.send, args=(EVENT,))
    sender.start()
    time.sleep(0.4)  # connection refused meanwhile
    with flaky_server(port=port) as server:
        sender.join(10)
        assert not sender.is_alive()
    sink.close()
    assert len(server.requests) == 1


def test_callback_sink_swallows_exceptions() -> None:
    seen: list[TaskEvent] = []

    def callback(event: TaskEvent) -> None:
        seen.append(event)
        raise RuntimeError("flow store down")

    CallbackEventSink(callback).send(EVENT)
    assert seen == [EVENT]
