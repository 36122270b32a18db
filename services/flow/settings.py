"""Settings of the flow service, read from the environment (prefix ``FEDLOOM_``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".fedloom/flow")


def parse_routes(value: Any) -> Any:
    """``{"10000": "host:port"}`` as JSON text, ``@/path/routes.json``, or a mapping already."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("@"):
            text = Path(text[1:]).read_text(encoding="utf-8")
        if not text:
            return {}
        return json.loads(text)
    return value


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` → (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected host:port, got {listen!r}")
    return host or "127.0.0.1", int(port)


class FlowSettings(BaseSettings):
    """One party's flow: identity, peers, listen address, storage and scheduler timings."""

    model_config = SettingsConfigDict(env_prefix="FEDLOOM_", populate_by_name=True, extra="ignore")

    party_id: int
    token: str = Field(min_length=1)
    routes: Annotated[dict[int, str], NoDecode] = Field(default_factory=dict)
    flow_listen: str = "127.0.0.1:9380"
    flow_url: str | None = None
    proxy_address: str = "127.0.0.1:9370"
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("database_url", "DATABASE_URL")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("redis_url", "REDIS_URL")
    )
    poll_interval_s: float = Field(default=0.5, gt=0)
    heartbeat_timeout_s: float = Field(default=30.0, gt=0)
    party_timeout_s: float = Field(default=60.0, ge=0)
    min_key_length: int = Field(default=2048, ge=512)
    """Shortest Paillier/OU key a job may ask for (``FEDLOOM_MIN_KEY_LENGTH``, the same value
    this site's tasks enforce on the keys they receive); checked when a job is submitted."""

    _parse_routes = field_validator("routes", mode="before")(parse_routes)

    @field_validator("flow_listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        split_listen(value)
        return value

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL: ``DATABASE_URL`` or a SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'flow.db'}"

    @property
    def own_flow_url(self) -> str:
        """Where this party's executors post task events."""
        if self.flow_url:
            return self.flow_url.rstrip("/")
        host, port = split_listen(self.flow_listen)
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{port}"
