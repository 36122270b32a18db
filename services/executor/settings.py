"""Settings of an executor (environment variables with the ``FEDLOOM_`` prefix)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ExecutorSettings(BaseSettings):
    """How one executor (standalone or embedded in the flow) runs this party's tasks.

    Every field is read from ``FEDLOOM_<NAME>`` (e.g. ``FEDLOOM_EXECUTOR_SLOTS``), except
    ``redis_url`` which is read from ``REDIS_URL`` as in ``docs/platform.md``.
    """

    model_config = SettingsConfigDict(env_prefix="FEDLOOM_", extra="ignore", populate_by_name=True)

    party_id: int = Field(description="this site's party id")
    token: str = Field(default="", description="bearer token of the flow's internal endpoints")
    flow_url: str = Field(default="http://127.0.0.1:9380", description="this site's flow")
    proxy_address: str = Field(
        default="127.0.0.1:9370",
        description="this site's proxy; used when a TaskSpec carries no proxy_address",
    )
    data_dir: Path = Field(
        default=Path("data"), description="base of task output directories given as relative"
    )
    executor_slots: int = Field(default=2, ge=1, description="tasks run in parallel")
    heartbeat_s: float = Field(default=2.0, gt=0, description="seconds between heartbeats")
    kill_grace_s: float = Field(
        default=2.0, ge=0, description="seconds between SIGTERM and SIGKILL when stopping a task"
    )
    drain_s: float = Field(
        default=10.0, ge=0, description="on shutdown, seconds running tasks get to finish"
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "redis_url"),
        description="Redis task queue; required by the standalone executor",
    )
