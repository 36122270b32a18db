"""Fixtures shared by the whole suite: a throwaway redis-server, in-process proxies.

- ``redis_url`` (session): a ``redis-server`` on a free 127.0.0.1 port in a temp dir, without
  persistence. Tests using it are skipped only when the ``redis-server`` binary is missing
  (CI installs it: ``apt-get install redis-server``). Share it: namespace keys per test.
- ``free_tcp_port``: a port on 127.0.0.1 that nothing listens on.
- ``start_proxies`` (session): a function starting proxies (``services.proxy``) in this process,
  one per party id, on free 127.0.0.1 ports with routes to each other; the caller stops them.

Imports of the project happen inside the fixtures, so a broken service cannot stop the rest of
the suite from being collected.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from services.proxy.mailbox import Mailbox
    from services.proxy.server import RunningProxy

REDIS_START_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def free_tcp_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (nothing listens on it)."""
    return free_port()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a redis-server started for this test session (``redis://127.0.0.1:<port>/0``)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(
            "redis-server binary not found on PATH (CI installs it: apt-get install redis-server)"
        )
    import redis

    workdir: Path = tmp_path_factory.mktemp("redis")
    port = free_port()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir)]
    command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        deadline = time.monotonic() + REDIS_START_TIMEOUT_S
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class ProxyGroup:
    """Proxies started by ``start_proxies``: one per party id, in this process."""

    def __init__(self, proxies: dict[int, RunningProxy]) -> None:
        self.proxies = proxies

    def address(self, party_id: int) -> str:
        """``127.0.0.1:<port>`` of the proxy of ``party_id``."""
        return self.proxies[party_id].address

    def mailbox(self, party_id: int) -> Mailbox:
        """The mailbox of the proxy of ``party_id``."""
        return self.proxies[party_id].servicer.mailbox

    def stop(self) -> None:
        """Stop every proxy at once (no grace)."""
        for proxy in self.proxies.values():
            proxy.stop(0)


StartProxies = Callable[..., ProxyGroup]


def _start_proxies(
    party_ids: Iterable[int],
    *,
    routed: Iterable[int] | None = None,
    extra_routes: dict[int, str] | None = None,
    mailbox: Callable[[int], Mailbox] | None = None,
    per_party: dict[int, dict[str, Any]] | None = None,
    **settings: Any,
) -> ProxyGroup:
    """Start one proxy per party id with routes to all of them (to ``routed`` ones if given).

    ``extra_routes`` adds routes (e.g. to a dead address); ``mailbox(party_id)`` replaces the
    default in-memory mailbox; other keywords are ``ProxySettings`` fields for every proxy, and
    ``per_party[party_id]`` holds fields for one proxy (e.g. its ``flow_url``).
    """
    from services.proxy.server import start_proxy
    from services.proxy.settings import ProxySettings

    settings.setdefault("redis_url", None)  # not REDIS_URL from the environment
    ids = list(party_ids)
    ports = {party_id: free_port() for party_id in ids}
    table = {p: f"127.0.0.1:{port}" for p, port in ports.items() if routed is None or p in routed}
    table.update(extra_routes or {})
    started: dict[int, RunningProxy] = {}
    try:
        for party_id in ids:
            config = ProxySettings(
                party_id=party_id,
                proxy_listen=f"127.0.0.1:{ports[party_id]}",
                routes={p: a for p, a in table.items() if p != party_id},
                **{**settings, **(per_party or {}).get(party_id, {})},
            )
            box = mailbox(party_id) if mailbox is not None else None
            started[party_id] = start_proxy(config, box)
    except BaseException:
        ProxyGroup(started).stop()
        raise
    return ProxyGroup(started)


@pytest.fixture(scope="session")
def start_proxies() -> StartProxies:
    """``start_proxies(party_ids, **options) -> ProxyGroup``; call ``.stop()`` when done."""
    return _start_proxies
