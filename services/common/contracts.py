"""Messages exchanged between the services of a site, and between the flows of parties.

- flow → executor: :class:`TaskSpec` on the task queue (one component of one job for one role
  at this party).
- executor → flow: :class:`TaskEvent` posted to ``POST /internal/v1/tasks/{task_id}/events``.
- flow → peer flow (always through the two proxies): :class:`ControlRequest` /
  :class:`ControlReply`, delivered by the peer proxy to ``POST /internal/v1/control`` of its flow.

All are pydantic models serialised as JSON; nothing here is ever pickled.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.status import TERMINAL

Role = Literal["guest", "host", "arbiter"]
JobStatus = Literal["waiting", "running", "success", "failed", "canceled", "timeout"]
"""The values of :class:`services.common.status.Status`, for request and response schemas."""
TERMINAL_STATUSES: frozenset[str] = frozenset(s.value for s in TERMINAL)
"""The final statuses, as strings (``services.common.status.TERMINAL``)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArtifactRef(_Model):
    """A file at this party that a task reads or wrote.

    ``kind``: ``table`` (an uploaded raw table: a CSV file plus its upload options in ``meta``),
    ``data`` (a table artifact written by a component, see ``fedloom.components.io``),
    ``model`` (a JSON file).
    """

    kind: Literal["table", "data", "model", "cache"]
    path: str
    meta: dict[str, Any] = Field(default_factory=dict)


class TaskSpec(_Model):
    """Everything an executor needs to run one task, with no access to the flow's database."""

    task_id: str
    job_id: str
    component: str
    module: str
    role: Role
    party_id: int
    parties: dict[Role, list[int]]
    params: dict[str, Any]
    inputs: dict[str, ArtifactRef] = Field(default_factory=dict)
    output_dir: str
    proxy_address: str
    flow_url: str
    timeout_s: float = 3600.0


class TaskOutputs(_Model):
    """What a successful task produced (files under the task's output_dir)."""

    data: dict[str, ArtifactRef] = Field(default_factory=dict)
    model: ArtifactRef | None = None
    cache: ArtifactRef | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)


class TaskEvent(_Model):
    """A task's progress as reported by its executor."""

    task_id: str
    kind: Literal["started", "heartbeat", "log", "success", "failed"]
    message: str = ""
    outputs: TaskOutputs | None = None


ControlKind = Literal[
    "create_job", "run_task", "task_status", "cancel_job", "job_status", "ping", "deploy_model"
]


class ControlRequest(_Model):
    """A flow-to-flow message; ``body`` is kind-specific JSON (see docs/platform.md)."""

    src_party_id: int
    dst_party_id: int
    kind: ControlKind
    job_id: str = ""
    body: dict[str, Any] = Field(default_factory=dict)


class ControlReply(_Model):
    """The peer flow's answer; ``ok`` false carries a human-readable ``error``."""

    ok: bool
    body: dict[str, Any] = Field(default_factory=dict)
    error: str = ""
