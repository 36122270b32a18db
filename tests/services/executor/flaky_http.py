"""A tiny HTTP server on 127.0.0.1 that answers from a script, for event-sink tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FlakyServer:
    """Answers request i with ``script[i]`` (then ``default``): an HTTP status, or ``"drop"``
    to close the connection without answering."""

    script: list[int | str] = field(default_factory=list)
    default: int | str = 200
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def next_answer(self, request: Recorded) -> int | str:
        with self.lock:
            index = len(self.requests)
            self.requests.append(request)
        with self.arrived:
            self.arrived.notify_all()
        return self.script[index] if index < len(self.script) else self.default

    def wait_for(self, predicate: Callable[[Recorded], bool], timeout: float = 15.0) -> Recorded:
        """The first request matching ``predicate``; fails after ``timeout`` seconds."""
        found: list[Recorded] = []

        def match() -> bool:
            found[:] = [r for r in list(self.requests) if predicate(r)][:1]
            return bool(found)

        with self.arrived:
            if not self.arrived.wait_for(match, timeout):
                raise AssertionError(f"no matching request in {timeout}s: {self.requests}")
        return found[0]

    def wait_requests(self, count: int, timeout: float = 10.0) -> list[Recorded]:
        """Wait until ``count`` requests arrived; fails after ``timeout`` seconds."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} of {count} requests arrived")
        return list(self.requests)


@contextmanager
def flaky_server(
    script: list[int | str] | None = None, default: int | str = 200, port: int = 0
) -> Iterator[FlakyServer]:
    """Run a :class:`FlakyServer` on a free port for the duration of the block."""
    state = FlakyServer(script=list(script or []), default=default)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            answer = state.next_answer(Recorded(self.path, dict(self.headers.items()), body))
            if answer == "drop":
                self.close_connection = True
                self.connection.close()
                return
            self.send_response(int(answer))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
