"""Start and stop the services of one site (proxy, flow, optional executors) as processes.

A :class:`SiteConfig` is what an operator writes down for a party; :class:`Site` turns it into
child processes with the environment each service reads (docs/platform.md), waits until they
answer, and stops them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field


class SiteConfig(BaseModel):
    """One party's deployment: ports, routes to peer proxies, token, storage."""

    model_config = ConfigDict(extra="forbid")

    party_id: int
    token: str = Field(min_length=16)
    host: str = "127.0.0.1"
    proxy_port: int
    flow_port: int
    routes: dict[int, str] = Field(default_factory=dict)
    data_dir: Path
    database_url: str | None = None
    redis_url: str | None = None
    executors: int = Field(default=1, ge=0)
    min_key_length: int | None = Field(default=None, ge=512)
    """Shortest peer public key accepted; None leaves ``FEDLOOM_MIN_KEY_LENGTH`` to the
    environment the site is started in (2048 when unset)."""
    # Peers connect to the public listener (mTLS with the three PEM files; required in
    # production). Without it the proxy serves peers on proxy_port, plaintext.
    proxy_public_listen: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None

    @property
    def proxy_address(self) -> str:
        """host:port of this site's proxy."""
        return f"{self.host}:{self.proxy_port}"

    @property
    def flow_url(self) -> str:
        """Base URL of this site's REST API."""
        return f"http://{self.host}:{self.flow_port}"

    def environment(self) -> dict[str, str]:
        """The variables every service of this site reads."""
        env = {
            "FEDLOOM_PARTY_ID": str(self.party_id),
            "FEDLOOM_TOKEN": self.token,
            "FEDLOOM_ROUTES": json.dumps({str(k): v for k, v in self.routes.items()}),
            "FEDLOOM_PROXY_LISTEN": self.proxy_address,
            "FEDLOOM_PROXY_ADDRESS": self.proxy_address,
            "FEDLOOM_FLOW_LISTEN": f"{self.host}:{self.flow_port}",
            "FEDLOOM_FLOW_URL": self.flow_url,
            "FEDLOOM_DATA_DIR": str(self.data_dir),
        }
        if self.min_key_length is not None:
            env["FEDLOOM_MIN_KEY_LENGTH"] = str(self.min_key_length)
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        if self.proxy_public_listen:
            env["FEDLOOM_PROXY_PUBLIC_LISTEN"] = self.proxy_public_listen
        for name in ("tls_cert", "tls_key", "tls_ca"):
            path = getattr(self, name)
            if path is not None:
                env[f"FEDLOOM_{name.upper()}"] = str(path)
        return env


class SiteStartError(RuntimeError):
    """A service of the site did not come up; the message names it and shows its log tail."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Site:
    """The running processes of one site."""

    def __init__(self, config: SiteConfig) -> None:
        self.config = config
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.log_dir = config.data_dir / "logs"

    def _spawn(self, name: str, module: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.config.environment()}
        if name == "flow" and self.config.redis_url:
            env["FEDLOOM_EMBEDDED_EXECUTOR"] = "false"
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", module],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def start(self, timeout: float = 60.0) -> None:
        """Start proxy and flow (and executors when Redis is configured); wait until healthy."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self._spawn("proxy", "services.proxy")
        self._spawn("flow", "services.flow")
        if self.config.redis_url:
            for i in range(self.config.executors):
                self._spawn(f"executor-{i}", "services.executor")
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float) -> None:
        """Block until the flow answers /healthz, or raise naming what failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise SiteStartError(
                        f"party {self.config.party_id}: {name} exited with code "
                        f"{proc.returncode}\n{self.log_tail(name)}"
                    )
            try:
                if httpx.get(f"{self.config.flow_url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SiteStartError(
            f"party {self.config.party_id}: flow not healthy after {timeout:g} s\n"
            f"{self.log_tail('flow')}"
        )

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The last lines a service wrote, for error messages."""
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM every service (and its children), SIGKILL what is still alive after grace."""
        for proc in self.processes.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.processes.values():
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(5.0)
        self.processes.clear()

    def pids(self) -> dict[str, int]:
        """Process ids by service name (for pid files)."""
        return {name: proc.pid for name, proc in self.processes.items()}


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def local_configs(
    base_dir: Path,
    party_ids: list[int],
    *,
    redis_url: str | None = None,
    database_urls: dict[int, str] | None = None,
    min_key_length: int | None = None,
) -> list[SiteConfig]:
    """Configs of several sites on loopback, on free ports, each routing to all the others.

    Settings not given here (``min_key_length`` when None, and every other ``FEDLOOM_*``
    variable) come from the environment of the process that starts the sites."""
    import secrets

    ports = {p: (free_port(), free_port()) for p in party_ids}
    configs = []
    for party in party_ids:
        routes = {other: f"127.0.0.1:{ports[other][0]}" for other in party_ids if other != party}
        configs.append(
            SiteConfig(
                party_id=party,
                token=secrets.token_urlsafe(24),
                proxy_port=ports[party][0],
                flow_port=ports[party][1],
                routes=routes,
                data_dir=base_dir / str(party),
                redis_url=redis_url,
                database_url=(database_urls or {}).get(party),
                min_key_length=min_key_length,
            )
        )
    return configs


def sites_json(configs: list[SiteConfig]) -> dict[str, Any]:
    """``{"<party_id>": {"rest": url, "token": token}}`` as ``make local-up`` writes it."""
    return {str(c.party_id): {"rest": c.flow_url, "token": c.token} for c in configs}
