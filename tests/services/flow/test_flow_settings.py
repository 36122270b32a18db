"""Flow settings from the environment, and the proxy channel's reading of proxy replies."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import ValidationError

from services.common.contracts import ControlReply, ControlRequest
from services.flow.settings import FlowSettings
from services.flow.wiring import PeerUnreachable, ProxyControlChannel

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "FEDLOOM_ROUTES", "FEDLOOM_FLOW_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEDLOOM_PARTY_ID", "9999")
    monkeypatch.setenv("FEDLOOM_TOKEN", "t0ken")


def test_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FEDLOOM_ROUTES", '{"10000": "127.0.0.1:9371", "10001": "h:9372"}')
    monkeypatch.setenv("FEDLOOM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FEDLOOM_FLOW_LISTEN", "0.0.0.0:9400")
    settings = FlowSettings()  # type: ignore[call-arg]
    assert settings.party_id == 9999 and settings.token == "t0ken"
    assert settings.routes == {10000: "127.0.0.1:9371", 10001: "h:9372"}
    assert settings.db_url == f"sqlite:///{tmp_path / 'flow.db'}"
    assert settings.own_flow_url == "http://127.0.0.1:9400"
    assert settings.redis_url is None


def test_routes_file_database_and_redis(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    routes = tmp_path / "routes.json"
    routes.write_text('{"10000": "peer:1"}')
    monkeypatch.setenv("FEDLOOM_ROUTES", f"@{routes}")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db/flow")
    monkeypatch.setenv("REDIS_URL", "redis://r:6379/0")
    monkeypatch.setenv("FEDLOOM_FLOW_URL", "http://flow.internal:80/")
    settings = FlowSettings()  # type: ignore[call-arg]
    assert settings.routes == {10000: "peer:1"}
    assert settings.db_url == "postgresql+psycopg://u@db/flow"
    assert settings.redis_url == "redis://r:6379/0"
    assert settings.own_flow_url == "http://flow.internal:80"


@pytest.mark.parametrize(
    ("name", "value"),
    [("FEDLOOM_FLOW_LISTEN", "nohost"), ("FEDLOOM_ROUTES", "{not json"), ("FEDLOOM_TOKEN", "")],
)
def test_bad_settings(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises((ValidationError, ValueError)):
        FlowSettings()  # type: ignore[call-arg]


class _Client:
    def __init__(self, reply: ControlReply) -> None:
        self.reply = reply

    def control(self, request: ControlRequest) -> ControlReply:
        return self.reply


def _channel(reply: ControlReply) -> ProxyControlChannel:
    return ProxyControlChannel("127.0.0.1:1", client=cast(Any, _Client(reply)))


def test_proxy_channel_tells_refusals_from_delivery_failures() -> None:
    request = ControlRequest(src_party_id=9999, dst_party_id=10000, kind="ping")
    ok = ControlReply(ok=True, body={"party_id": 10000})
    assert _channel(ok).send(request) == ok
    refused = ControlReply(ok=False, error="no job", body={"refused": True})
    assert _channel(refused).send(request) == refused
    lost = ControlReply(ok=False, error="party 10000 unreachable: proxy at h:1: UNAVAILABLE")
    with pytest.raises(PeerUnreachable, match="party 10000 unreachable"):
        _channel(lost).send(request)
