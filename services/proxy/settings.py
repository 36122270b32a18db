"""Settings of a proxy (environment variables with the ``FEDLOOM_`` prefix)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.proxy.routes import parse_address, parse_routes

MiB = 1024 * 1024

__all__ = ["ProxySettings"]


class ProxySettings(BaseSettings):
    """How one proxy serves its party.

    Every field is read from ``FEDLOOM_<NAME>`` (e.g. ``FEDLOOM_PROXY_LISTEN``), except
    ``redis_url`` which is read from ``REDIS_URL`` as in ``docs/platform.md``.
    """

    model_config = SettingsConfigDict(env_prefix="FEDLOOM_", extra="ignore", populate_by_name=True)

    party_id: int = Field(gt=0, description="this site's party id")
    proxy_listen: str = Field(
        default="127.0.0.1:9370",
        description="host:port of the site-local listener (plaintext) for this site's flow and "
        "executors; also serves peers when no public listener is set",
    )
    proxy_public_listen: str | None = Field(
        default=None,
        description="host:port of the public listener for peer proxies (mTLS when TLS is set)",
    )
    tls_cert: Path | None = Field(
        default=None, description="PEM certificate (chain) of this party, naming party-<id>"
    )
    tls_key: Path | None = Field(default=None, description="PEM private key of tls_cert")
    tls_ca: Path | None = Field(default=None, description="PEM CA certificate(s) trusted for peers")
    routes: Annotated[dict[int, str], NoDecode] = Field(
        default_factory=dict,
        description="party id → peer proxy address: JSON object or @/path/to/routes.json",
    )
    flow_url: str = Field(default="http://127.0.0.1:9380", description="this site's flow")
    token: SecretStr = Field(
        default=SecretStr(""), description="bearer token of the flow's internal endpoints"
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "redis_url"),
        description="Redis mailbox when set; in-memory mailbox otherwise",
    )
    max_mailbox_bytes: int = Field(
        default=512 * MiB, gt=0, description="bound on envelopes held for local receivers"
    )
    max_chunk_bytes: int = Field(
        default=16 * MiB, gt=0, description="largest envelope payload accepted (one chunk)"
    )
    push_wait_s: float = Field(
        default=300.0, gt=0, description="how long a push waits for room in a full mailbox"
    )
    forward_timeout_s: float = Field(
        default=60.0, gt=0, description="deadline of forwarding to a peer proxy, retries included"
    )
    control_timeout_s: float = Field(
        default=30.0, gt=0, description="deadline of a control message, retries included"
    )
    max_workers: int = Field(default=128, ge=4, description="gRPC server threads")
    max_concurrent_pushes: int = Field(
        default=32,
        ge=1,
        description="envelopes stored at once, and forwarded at once; more get UNAVAILABLE "
        "(clients retry) so that threads remain for pulls",
    )
    shutdown_grace_s: float = Field(default=5.0, ge=0, description="grace period on SIGTERM")

    @field_validator("routes", mode="before")
    @classmethod
    def _parse_routes(cls, value: Any) -> dict[int, str]:
        return parse_routes(value)

    @field_validator("proxy_listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_address(value, "FEDLOOM_PROXY_LISTEN")
        return value

    @field_validator("proxy_public_listen")
    @classmethod
    def _check_public_listen(cls, value: str | None) -> str | None:
        if value is not None:
            parse_address(value, "FEDLOOM_PROXY_PUBLIC_LISTEN")
        return value

    @field_validator(
        "redis_url", "proxy_public_listen", "tls_cert", "tls_key", "tls_ca", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("flow_url")
    @classmethod
    def _check_flow_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"FEDLOOM_FLOW_URL must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_tls(self) -> ProxySettings:
        tls = {"CERT": self.tls_cert, "KEY": self.tls_key, "CA": self.tls_ca}
        missing = [f"FEDLOOM_TLS_{name}" for name, path in tls.items() if path is None]
        if 0 < len(missing) < len(tls):
            raise ValueError(
                f"TLS needs all of FEDLOOM_TLS_CERT/KEY/CA; missing {', '.join(missing)}"
            )
        if not missing and self.proxy_public_listen is None:
            raise ValueError(
                "FEDLOOM_TLS_* secure the public listener: set FEDLOOM_PROXY_PUBLIC_LISTEN (peers "
                "connect there; FEDLOOM_PROXY_LISTEN stays plaintext for this site's services)"
            )
        return self

    @model_validator(mode="after")
    def _check_limits(self) -> ProxySettings:
        if self.max_chunk_bytes > self.max_mailbox_bytes:
            raise ValueError(
                f"FEDLOOM_MAX_CHUNK_BYTES ({self.max_chunk_bytes}) exceeds "
                f"FEDLOOM_MAX_MAILBOX_BYTES ({self.max_mailbox_bytes}): one chunk must fit"
            )
        if 2 * self.max_concurrent_pushes >= self.max_workers:
            raise ValueError(
                f"FEDLOOM_MAX_CONCURRENT_PUSHES ({self.max_concurrent_pushes}) must be below half "
                f"of FEDLOOM_MAX_WORKERS ({self.max_workers}) so that pulls can drain a full "
                "mailbox while stores and forwards wait"
            )
        return self

    @property
    def tls_enabled(self) -> bool:
        """Whether certificates are configured (the public listener then requires mTLS)."""
        return self.tls_cert is not None

    @property
    def max_message_bytes(self) -> int:
        """gRPC message size limit: one chunk plus room for the envelope's other fields."""
        return self.max_chunk_bytes + MiB
