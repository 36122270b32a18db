"""The route table: party id → ``host:port`` of that party's proxy.

Given as ``FEDLOOM_ROUTES``: a JSON object (``{"10000": "127.0.0.1:9371"}``) or ``@/path`` of a
file holding one. The proxy forwards to these addresses and accepts traffic only from these
parties (and from its own party).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["NoRouteError", "RouteError", "RouteTable", "parse_address", "parse_routes"]


class RouteError(ValueError):
    """The route table (or an address) is malformed; the message names the entry."""


class NoRouteError(LookupError):
    """No route to a party; the message names the party and the parties that have one."""

    def __init__(self, party_id: int, local_party_id: int | None, known: list[int]) -> None:
        self.party_id = party_id
        where = f" in the route table of party {local_party_id}" if local_party_id else ""
        known_text = ", ".join(str(p) for p in known) or "none"
        super().__init__(f"no route to party {party_id}{where} (routes: {known_text})")

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError
        return str(self.args[0])


def parse_address(value: object, field: str = "address") -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` for IPv6); ``RouteError`` naming ``field`` if bad."""
    if not isinstance(value, str) or not value.strip():
        raise RouteError(f"{field}: expected 'host:port', got {value!r}")
    host, sep, port_text = value.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise RouteError(f"{field}: {value!r} is not 'host:port'")
    port = int(port_text)
    if not 0 < port < 65536:
        raise RouteError(f"{field}: port {port} of {value!r} is out of range 1-65535")
    if host.startswith("[") != host.endswith("]"):
        raise RouteError(f"{field}: unbalanced brackets in host of {value!r}")
    return host, port


def _party_id(key: object, field: str) -> int:
    text = str(key).strip()
    if isinstance(key, bool) or not text.lstrip("-").isdigit():
        raise RouteError(f"{field}: key {key!r} is not a party id (an integer)")
    party_id = int(text)
    if party_id <= 0:
        raise RouteError(f"{field}: party id {party_id} must be positive")
    return party_id


def parse_routes(
    value: str | Mapping[Any, Any] | None, field: str = "FEDLOOM_ROUTES"
) -> dict[int, str]:
    """Parse a route table given as JSON text, ``@file`` or a mapping; errors name ``field``."""
    if value is None:
        return {}
    source = field
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return {}
        if text.startswith("@"):
            path = Path(text[1:]).expanduser()
            source = f"{field} (file {path})"
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise RouteError(
                    f"{field}: cannot read route file {path}: {exc.strerror}"
                ) from None
        try:
            data: object = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RouteError(
                f"{source} is not valid JSON (line {exc.lineno} column {exc.colno}): {exc.msg}"
            ) from None
    else:
        data = value
    if not isinstance(data, Mapping):
        raise RouteError(
            f"{source} must be a JSON object of party id → proxy address, got {type(data).__name__}"
        )
    routes: dict[int, str] = {}
    for key, address in data.items():
        party_id = _party_id(key, source)
        if party_id in routes:
            raise RouteError(f"{source}: party {party_id} is listed twice")
        host, port = parse_address(address, f"{source}: party {party_id}")
        routes[party_id] = f"{host}:{port}"
    return routes


class RouteTable(Mapping[int, str]):
    """Read-only route table with lookups that name the missing party."""

    def __init__(self, routes: Mapping[int, str], local_party_id: int | None = None) -> None:
        self._routes = dict(routes)
        self.local_party_id = local_party_id

    def address(self, party_id: int) -> str:
        """The proxy address of ``party_id``; :class:`NoRouteError` when it has none."""
        try:
            return self._routes[party_id]
        except KeyError:
            raise NoRouteError(party_id, self.local_party_id, sorted(self._routes)) from None

    def accepts(self, party_id: int) -> bool:
        """Whether traffic from ``party_id`` is accepted: a routed party or this party itself."""
        return party_id == self.local_party_id or party_id in self._routes

    def __getitem__(self, party_id: int) -> str:
        return self._routes[party_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._routes)

    def __len__(self) -> int:
        return len(self._routes)

    def __repr__(self) -> str:
        return f"RouteTable({self._routes!r}, local_party_id={self.local_party_id!r})"
