"""``/api/v1/jobs``: submit, list, inspect and cancel jobs; read outputs, metrics and logs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import StreamingResponse

from fedloom.components.base import ComponentError
from services.common.contracts import JobStatus, TaskOutputs
from services.flow.api.deps import Authorized, Jobs, Runtime
from services.flow.api.schemas import (
    ComponentView,
    DataPage,
    JobCreated,
    JobDetail,
    JobSubmission,
    JobSummary,
    LogEntry,
    TaskView,
    component_status,
    model_info,
)
from services.flow.artifacts import csv_lines, data_page, load_model
from services.flow.models import Job, Task
from services.flow.submit import SubmitError

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], dependencies=Authorized)


def _job(jobs: Jobs, job_id: str) -> Job:
    job = jobs.get_job(job_id)
    if job is None:
        raise HTTPException(404, f"job {job_id} not found")
    return job


def _local_task(runtime: Runtime, job_id: str, component: str, role: str | None) -> Task:
    """This party's task of ``component`` (``role`` picks one when it plays several)."""
    _job(runtime.jobs, job_id)
    party = runtime.settings.party_id
    tasks = [
        t
        for t in runtime.jobs.tasks(job_id, component, party_id=party)
        if role is None or t.role == role
    ]
    if not tasks:
        raise HTTPException(404, f"no task of {component} at party {party}")
    if len(tasks) > 1:
        roles = ", ".join(t.role for t in tasks)
        raise HTTPException(422, f"party {party} plays {roles} in {component}; pass ?role=")
    return tasks[0]


def _outputs(task: Task) -> TaskOutputs:
    if task.status != "success" or task.outputs is None:
        raise HTTPException(404, f"{task.component} has no outputs yet (task {task.status})")
    return TaskOutputs.model_validate(task.outputs)


def _data_output(
    runtime: Runtime, job_id: str, component: str, role: str | None, name: str | None
) -> tuple[Task, str]:
    """This party's task of ``component`` and the path of its data output ``name`` (the
    first when None); 404 naming what is missing."""
    task = _local_task(runtime, job_id, component, role)
    data = _outputs(task).data
    if not data:
        raise HTTPException(404, f"{component} wrote no data")
    key = name if name is not None else next(iter(data))
    if key not in data:
        raise HTTPException(404, f"{component} has no data output {key!r} (has {sorted(data)})")
    return task, data[key].path


@router.post("", status_code=201)
def submit_job(body: JobSubmission, runtime: Runtime) -> JobCreated:
    """Validate a job, create it at every party and start it. 422 names the offending field;
    409 / 502 name the party that refused / could not be reached."""
    try:
        job = runtime.submitter.submit(body.dsl, body.conf)
    except SubmitError as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    return JobCreated(job_id=job.job_id, status=job.status, model_info=model_info(job))


@router.get("")
def list_jobs(
    jobs: Jobs,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[JobSummary]:
    """Jobs, newest first, optionally of one status."""
    return [JobSummary.of(job) for job in jobs.list_jobs(status, limit, offset)]


@router.get("/{job_id}")
def get_job(job_id: str, jobs: Jobs) -> JobDetail:
    """A job with the status, timings and errors of every component at every party."""
    job = _job(jobs, job_id)
    components: dict[str, list[Task]] = {}
    for task in jobs.tasks(job_id):
        components.setdefault(task.component, []).append(task)
    views = [
        ComponentView(
            component=name,
            module=tasks[0].module,
            status=component_status([t.status for t in tasks]),
            tasks=[TaskView.of(t) for t in tasks],
        )
        for name, tasks in components.items()
    ]
    return JobDetail(**JobSummary.of(job).model_dump(), components=views)


@router.post("/{job_id}/cancel")
def cancel_job(job_id: str, runtime: Runtime) -> JobCreated:
    """Cancel a job this party initiated, at every party."""
    job = _job(runtime.jobs, job_id)
    if job.initiator != runtime.settings.party_id:
        raise HTTPException(409, f"only the initiator (party {job.initiator}) can cancel the job")
    if not runtime.scheduler.cancel(job_id, "canceled by user"):
        status = _job(runtime.jobs, job_id).status
        raise HTTPException(409, f"job {job_id} has already ended ({status})")
    return JobCreated(job_id=job_id, status=_job(runtime.jobs, job_id).status)


@router.get("/{job_id}/components/{component}/metrics")
def component_metrics(job_id: str, component: str, runtime: Runtime) -> dict[str, Any]:
    """Metrics of this party's task(s) of the component, by role."""
    _job(runtime.jobs, job_id)
    party = runtime.settings.party_id
    tasks = runtime.jobs.tasks(job_id, component, party_id=party)
    if not tasks:
        raise HTTPException(404, f"no task of {component} at party {party}")
    return {
        "job_id": job_id,
        "component": component,
        "party_id": party,
        "status": {t.role: t.status for t in tasks},
        "metrics": {t.role: t.metrics or {} for t in tasks},
    }


@router.get("/{job_id}/components/{component}/output/data")
def output_data(
    job_id: str,
    component: str,
    runtime: Runtime,
    role: str | None = None,
    name: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
) -> DataPage:
    """Rows of this party's data output (``name`` picks one when there are several)."""
    task, path = _data_output(runtime, job_id, component, role, name)
    try:
        page = data_page(path, offset, limit)
    except (ComponentError, OSError) as exc:
        raise HTTPException(500, f"cannot read the data output of {component}: {exc}") from None
    return DataPage(job_id=job_id, component=component, role=task.role, **page)


@router.get(
    "/{job_id}/components/{component}/output/data/download",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def download_data(
    job_id: str,
    component: str,
    runtime: Runtime,
    role: str | None = None,
    name: str | None = None,
) -> StreamingResponse:
    """This party's whole data output as CSV (FATE's columns for predictions)."""
    task, path = _data_output(runtime, job_id, component, role, name)
    try:
        lines = csv_lines(path)
    except (ComponentError, OSError) as exc:
        raise HTTPException(500, f"cannot read the data output of {component}: {exc}") from None
    filename = f"{job_id}_{component}_{task.role}_{task.party_id}.csv"
    return StreamingResponse(
        lines,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/{job_id}/components/{component}/output/model")
def output_model(job_id: str, component: str, runtime: Runtime, role: str | None = None) -> Any:
    """This party's model output (JSON)."""
    task = _local_task(runtime, job_id, component, role)
    model = _outputs(task).model
    if model is None:
        raise HTTPException(404, f"{component} wrote no model")
    try:
        return load_model(model.path)
    except (OSError, ValueError) as exc:
        raise HTTPException(500, f"cannot read the model of {component}: {exc}") from None


@router.get("/{job_id}/logs")
def job_logs(
    job_id: str,
    jobs: Jobs,
    task_id: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> list[LogEntry]:
    """The job's log at this party: the flow's entries and its tasks' lines, in order."""
    _job(jobs, job_id)
    return [LogEntry.of(e) for e in jobs.logs(job_id, task_id, offset, limit)]
