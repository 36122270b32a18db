#!/usr/bin/env python3
"""Container health check of a fedloom service: ``fedloom-healthcheck [proxy|flow|executor]``.

- proxy: the ``Health`` RPC on the site-local listener (``FEDLOOM_PROXY_LISTEN``);
- flow: ``GET /healthz`` on ``FEDLOOM_FLOW_LISTEN``;
- executor: an executor process is alive and Redis (``REDIS_URL``) answers ``PING``.

Without an argument the service is the one this container runs (``fedloom <service>`` in the
process list). Exit status 0: healthy; 1: not, with the reason on stderr.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SERVICES = ("proxy", "flow", "executor")


def _connect_host(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    return host, int(port)


def _commands() -> list[list[str]]:
    """Command lines of the processes this check can see (its container's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if raw:
            found.append([part.decode(errors="replace") for part in raw.split(b"\0") if part])
    return found


def _runs(command: list[str], service: str) -> bool:
    """Whether a command line is ``fedloom <service>`` or ``python -m services.<service>``."""
    names = [Path(part).name for part in command]
    for i, name in enumerate(names[:-1]):
        if name == "fedloom" and names[i + 1] == service:
            return True
    return f"services.{service}" in command


def detect() -> str:
    """The service this container runs, from the process list."""
    for command in _commands():
        for service in SERVICES:
            if _runs(command, service):
                return service
    raise RuntimeError("no fedloom service process found")


def check_proxy() -> None:
    """The proxy's Health RPC on its site-local listener."""
    from services.proxy.client import ProxyClient

    host, port = _connect_host(os.environ.get("FEDLOOM_PROXY_LISTEN", "127.0.0.1:9370"))
    with ProxyClient(f"{host}:{port}", timeout=3) as client:
        reply = client.health(timeout=3)
    if reply.get("status") != "ok":
        raise RuntimeError(f"proxy health: {reply}")


def check_flow() -> None:
    """``GET /healthz`` of the flow."""
    import httpx

    host, port = _connect_host(os.environ.get("FEDLOOM_FLOW_LISTEN", "127.0.0.1:9380"))
    response = httpx.get(f"http://{host}:{port}/healthz", timeout=3)
    if response.status_code != 200:
        raise RuntimeError(f"flow /healthz answered HTTP {response.status_code}")


def check_executor() -> None:
    """An executor process is alive and its Redis queue answers."""
    import redis

    if not any(_runs(command, "executor") for command in _commands()):
        raise RuntimeError("no executor process")
    url = os.environ.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    finally:
        client.close()


def main(argv: list[str]) -> int:
    """Run the check of the named (or detected) service; the exit status."""
    try:
        service = argv[0] if argv else detect()
        if service not in SERVICES:
            raise RuntimeError(f"unknown service {service!r}; expected one of {SERVICES}")
        {"proxy": check_proxy, "flow": check_flow, "executor": check_executor}[service]()
    except Exception as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
