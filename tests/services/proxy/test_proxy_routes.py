"""Proxy settings (FEDLOOM_* variables) and the route table: parsing and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.proxy.routes import NoRouteError, RouteError, RouteTable, parse_routes
from services.proxy.settings import ProxySettings

MiB = 1024 * 1024


# -- settings and routes ----------------------------------------------------------------------


@pytest.mark.unit
class TestRoutesAndSettings:
    def test_json_and_file_routes(self, tmp_path: Path) -> None:
        text = '{"10000": "127.0.0.1:9371", "10001": "[::1]:9372"}'
        expected = {10000: "127.0.0.1:9371", 10001: "[::1]:9372"}
        assert parse_routes(text) == expected
        path = tmp_path / "routes.json"
        path.write_text(text)
        assert parse_routes(f"@{path}") == expected
        assert parse_routes("") == {} and parse_routes(None) == {}

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("{not json", "FEDLOOM_ROUTES is not valid JSON (line 1 column 2)"),
            ('["127.0.0.1:1"]', "must be a JSON object of party id → proxy address, got list"),
            ('{"bank": "127.0.0.1:1"}', "key 'bank' is not a party id"),
            ('{"0": "127.0.0.1:1"}', "party id 0 must be positive"),
            ('{"10000": "127.0.0.1"}', "party 10000: '127.0.0.1' is not 'host:port'"),
            ('{"10000": "h:70000"}', "party 10000: port 70000 of 'h:70000' is out of range"),
            ('{"10000": 9371}', "party 10000: expected 'host:port', got 9371"),
            ('{"10000": "h:1", "010000": "h:2"}', "party 10000 is listed twice"),
            ("@/nonexistent/routes.json", "cannot read route file /nonexistent/routes.json"),
        ],
    )
    def test_route_errors_name_the_entry(self, value: str, message: str) -> None:
        with pytest.raises(RouteError) as info:
            parse_routes(value)
        assert message in str(info.value)

    def test_missing_route_names_the_party(self) -> None:
        table = RouteTable({10000: "127.0.0.1:1"}, local_party_id=9999)
        with pytest.raises(NoRouteError) as info:
            table.address(10005)
        assert str(info.value) == (
            "no route to party 10005 in the route table of party 9999 (routes: 10000)"
        )
        assert table.accepts(9999) and table.accepts(10000) and not table.accepts(10005)

    def test_settings_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        path = tmp_path / "routes.json"
        path.write_text('{"10000": "10.0.0.2:9370"}')
        monkeypatch.setenv("FEDLOOM_PARTY_ID", "9999")
        monkeypatch.setenv("FEDLOOM_ROUTES", f"@{path}")
        monkeypatch.setenv("FEDLOOM_PROXY_LISTEN", "0.0.0.0:9370")
        monkeypatch.setenv("FEDLOOM_TOKEN", "s3cret")
        monkeypatch.setenv("FEDLOOM_MAX_MAILBOX_BYTES", str(64 * MiB))
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
        settings = ProxySettings()  # type: ignore[call-arg]
        assert settings.party_id == 9999
        assert settings.routes == {10000: "10.0.0.2:9370"}
        assert settings.redis_url == "redis://127.0.0.1:6379/0"
        assert settings.max_mailbox_bytes == 64 * MiB
        assert settings.token.get_secret_value() == "s3cret"
        assert "s3cret" not in repr(settings)
        monkeypatch.setenv("REDIS_URL", "")
        assert ProxySettings().redis_url is None  # type: ignore[call-arg]

    def test_invalid_settings_name_the_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("FEDLOOM_PARTY_ID", "9999")
        monkeypatch.setenv("FEDLOOM_ROUTES", '{"10000": "nowhere"}')
        with pytest.raises(ValidationError, match="FEDLOOM_ROUTES: party 10000"):
            ProxySettings()  # type: ignore[call-arg]
        monkeypatch.delenv("FEDLOOM_ROUTES")
        with pytest.raises(ValidationError, match="FEDLOOM_MAX_CHUNK_BYTES"):
            ProxySettings(max_mailbox_bytes=MiB, max_chunk_bytes=2 * MiB)  # type: ignore[call-arg]
        with pytest.raises(ValidationError, match="FEDLOOM_PROXY_LISTEN"):
            ProxySettings(proxy_listen="9370")  # type: ignore[call-arg]
