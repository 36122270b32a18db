"""Request and response bodies of the REST API (what ``/docs`` shows)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fedloom.dsl.deploy import model_id_of
from fedloom.dsl.job_parameters import job_type_of
from services.flow.models import Job, Model, Task, TaskLog, as_utc, iso


class TableMeta(BaseModel):
    """An uploaded table."""

    namespace: str
    name: str
    rows: int
    columns: int
    header: list[str]
    id_column: str
    label_column: str | None
    input_format: str = "dense"
    meta: dict[str, Any] = Field(default_factory=dict)
    """The upload meta: FATE's table format keys and the upload options."""
    created_at: str | None = None


class TablePreview(BaseModel):
    """The first rows of a table, as text."""

    namespace: str
    name: str
    header: list[str]
    rows: list[list[str]]


class JobSubmission(BaseModel):
    """A FATE DSL v2 job: the DAG and its runtime conf (a predict job has a conf only)."""

    model_config = ConfigDict(extra="forbid")

    dsl: dict[str, Any] = Field(default_factory=dict)
    conf: dict[str, Any]


class ModelInfo(BaseModel):
    """FATE's ``model_info``: the model a train job makes, or the one a predict job runs."""

    model_id: str
    model_version: str


def model_info(job: Job) -> ModelInfo | None:
    """The job's model: ``(model id of its parties, job id)`` for a train job, the deployed
    model named by a predict job's conf; None for a conf that names neither."""
    common = (job.conf.get("job_parameters") or {}).get("common") or {}
    if job_type_of(common) == "predict":
        model_id, version = common.get("model_id"), common.get("model_version")
        if isinstance(model_id, str) and isinstance(version, str):
            return ModelInfo(model_id=model_id, model_version=version)
        return None
    return ModelInfo(model_id=model_id_of(job.role), model_version=job.job_id)


class JobCreated(BaseModel):
    """A job accepted by every party."""

    job_id: str
    status: str
    model_info: ModelInfo | None = None


class JobSummary(BaseModel):
    """One job in a list."""

    job_id: str
    status: str
    initiator: int
    roles: dict[str, Any]
    created_at: str | None
    started_at: str | None
    ended_at: str | None
    elapsed_s: float | None
    error: str
    job_type: str
    model_info: ModelInfo | None

    @classmethod
    def of(cls, job: Job) -> JobSummary:
        """From a stored job."""
        info = model_info(job)
        return cls(
            job_type=job_type_of((job.conf.get("job_parameters") or {}).get("common")),
            model_info=info,
            job_id=job.job_id,
            status=job.status,
            initiator=job.initiator,
            roles=dict(job.role),
            created_at=iso(job.created_at),
            started_at=iso(job.started_at),
            ended_at=iso(job.ended_at),
            elapsed_s=_elapsed(job.started_at, job.ended_at),
            error=job.error,
        )


class TaskView(BaseModel):
    """One task of a component, at one party."""

    task_id: str
    role: str
    party_id: int
    status: str
    error: str
    started_at: str | None
    ended_at: str | None
    elapsed_s: float | None

    @classmethod
    def of(cls, task: Task) -> TaskView:
        """From a stored task."""
        return cls(
            task_id=task.task_id,
            role=task.role,
            party_id=task.party_id,
            status=task.status,
            error=task.error,
            started_at=iso(task.started_at),
            ended_at=iso(task.ended_at),
            elapsed_s=_elapsed(task.started_at, task.ended_at),
        )


class ComponentView(BaseModel):
    """A component's aggregated status and its tasks at every party this flow knows of."""

    component: str
    module: str
    status: str
    tasks: list[TaskView]


class JobDetail(JobSummary):
    """A job with every component's tasks."""

    components: list[ComponentView]


class LogEntry(BaseModel):
    """A log line of a job (``task_id`` empty for the flow's own entries)."""

    id: int
    task_id: str
    created_at: str | None
    message: str

    @classmethod
    def of(cls, entry: TaskLog) -> LogEntry:
        """From a stored entry."""
        return cls(
            id=entry.id,
            task_id=entry.task_id,
            created_at=iso(entry.created_at),
            message=entry.message,
        )


class DataPage(BaseModel):
    """Rows of a data artifact: ``[id, (label,) features...]``."""

    job_id: str
    component: str
    role: str
    header: list[str]
    rows: list[list[Any]]
    total: int
    offset: int
    limit: int


def component_status(statuses: list[str]) -> str:
    """FATE aggregation of task statuses into one component status."""
    for status in ("failed", "timeout", "canceled", "running"):
        if status in statuses:
            return status
    if statuses and all(s == "success" for s in statuses):
        return "success"
    if "success" in statuses:
        return "running"
    return "waiting"


def _elapsed(start: Any, end: Any) -> float | None:
    begin, finish = as_utc(start), as_utc(end)
    if begin is None or finish is None:
        return None
    return round((finish - begin).total_seconds(), 3)


class ModelView(BaseModel):
    """One model in this party's registry."""

    model_id: str
    model_version: str
    kind: str
    job_id: str
    parent_version: str | None
    roles: dict[str, Any]
    components: dict[str, str]
    local_parts: dict[str, list[str]]
    inference_dsl: dict[str, Any] | None
    created_at: str | None

    @classmethod
    def of(cls, model: Model) -> ModelView:
        """From a registry row."""
        return cls(
            model_id=model.model_id,
            model_version=model.model_version,
            kind=model.kind,
            job_id=model.job_id,
            parent_version=model.parent_version,
            roles=dict(model.roles),
            components=dict(model.modules),
            local_parts={c: sorted(r) for c, r in model.artifacts.items()},
            inference_dsl=model.inference_dsl,
            created_at=iso(model.created_at),
        )


class DeployRequest(BaseModel):
    """FATE-Flow's deploy: which model, and which components (or a whole predict DSL)."""

    model_config = ConfigDict(extra="forbid")

    model_id: str
    model_version: str
    cpn_list: list[str] | None = None
    predict_dsl: dict[str, Any] | None = None


class DeployResult(BaseModel):
    """The deployed child version, the same at every party; use it in a predict conf."""

    model_id: str
    model_version: str
    parent_version: str
    inference_dsl: dict[str, Any]
