"""Jobs, tasks and logs in the flow database.

Every method is one short transaction; returned ORM objects are detached snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.common.contracts import TERMINAL_STATUSES, TaskEvent
from services.common.status import Status, allowed
from services.flow.models import Job, Task, TaskLog, as_utc, utcnow
from services.flow.planning import PlannedJob

_TIME_FIELDS = ("started_at", "ended_at")
STATUSES = frozenset(s.value for s in Status)


def make_task_id(job_id: str, component: str, role: str, party_id: int) -> str:
    """The id of a task, the same at every party."""
    return f"{job_id}_{component}_{role}_{party_id}"


def open_task_status(job_status: str) -> str:
    """What an unfinished task becomes when its job ends with ``job_status``."""
    return job_status if job_status in ("canceled", "timeout") else "canceled"


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp from another party (None when absent or unreadable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


class JobStore:
    """Queries and updates of jobs, tasks and logs."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # jobs

    def create_job(
        self,
        job_id: str,
        plan: PlannedJob,
        dsl: dict[str, Any],
        conf: dict[str, Any],
        parties: Iterable[int],
        *,
        status: str = "waiting",
        error: str = "",
    ) -> Job:
        """Store a job and one task row per planned task of ``parties``."""
        now = utcnow()
        wanted = set(parties)
        order = {c.name: i for i, c in enumerate(plan.components)}
        modules = {c.name: c.module for c in plan.components}
        ended = now if status in TERMINAL_STATUSES else None
        job = Job(
            job_id=job_id,
            initiator=plan.initiator,
            role=plan.roles,
            dsl=dsl,
            conf=conf,
            status=status,
            error=error,
            created_at=now,
            ended_at=ended,
        )
        with self._sessions.begin() as session:
            session.add(job)
            session.flush()
            for t in plan.tasks:
                if t.party_id not in wanted:
                    continue
                session.add(
                    Task(
                        task_id=make_task_id(job_id, t.component, t.role, t.party_id),
                        job_id=job_id,
                        component=t.component,
                        component_index=order[t.component],
                        module=modules[t.component],
                        role=t.role,
                        role_index=t.index,
                        party_id=t.party_id,
                        status="canceled" if ended else "waiting",
                        error="",
                        created_at=now,
                    )
                )
        return job

    def get_job(self, job_id: str) -> Job | None:
        """The job, or None."""
        with self._sessions() as session:
            return session.get(Job, job_id)

    def list_jobs(self, status: str | None = None, limit: int = 100, offset: int = 0) -> list[Job]:
        """Jobs, newest first, optionally of one status."""
        query = select(Job).order_by(Job.created_at.desc(), Job.job_id.desc())
        if status is not None:
            query = query.where(Job.status == status)
        with self._sessions() as session:
            return list(session.scalars(query.offset(offset).limit(limit)))

    def active_jobs(self, initiator: int | None = None) -> list[Job]:
        """Jobs not yet terminal, optionally only those ``initiator`` started, oldest first."""
        query = select(Job).where(Job.status.in_(("waiting", "running"))).order_by(Job.created_at)
        if initiator is not None:
            query = query.where(Job.initiator == initiator)
        with self._sessions() as session:
            return list(session.scalars(query))

    def set_job_status(self, job_id: str, status: str, error: str = "") -> bool:
        """Move a job to ``status``; a terminal job never changes. True if it changed."""
        now = utcnow()
        with self._sessions.begin() as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or not allowed(job.status, status):
                return False
            job.status = status
            if status == "running" and job.started_at is None:
                job.started_at = now
            if status in TERMINAL_STATUSES:
                job.ended_at = now
                job.error = error
            return True

    # tasks

    def tasks(
        self, job_id: str, component: str | None = None, party_id: int | None = None
    ) -> list[Task]:
        """The job's task rows in DAG order, optionally filtered."""
        query = select(Task).where(Task.job_id == job_id)
        if component is not None:
            query = query.where(Task.component == component)
        if party_id is not None:
            query = query.where(Task.party_id == party_id)
        query = query.order_by(Task.component_index, Task.role, Task.role_index, Task.party_id)
        with self._sessions() as session:
            return list(session.scalars(query))

    def get_task(self, task_id: str) -> Task | None:
        """The task, or None."""
        with self._sessions() as session:
            return session.get(Task, task_id)

    def mark_queued(self, task_ids: Iterable[str]) -> None:
        """Record that the tasks were handed over (to the queue, or to their party)."""
        now = utcnow()
        with self._sessions.begin() as session:
            for task_id in task_ids:
                task = session.get(Task, task_id)
                if task is not None and task.queued_at is None:
                    task.queued_at = now

    def end_task(self, task_id: str, status: str, error: str = "") -> bool:
        """Move a non-terminal task to a terminal ``status``. True if it changed."""
        with self._sessions.begin() as session:
            task = session.get(Task, task_id, with_for_update=True)
            if task is None or not allowed(task.status, status):
                return False
            task.status = status
            task.error = error
            task.ended_at = utcnow()
            return True

    def end_open_tasks(
        self, job_id: str, status: str, error: str, party_id: int | None = None
    ) -> list[Task]:
        """End every non-terminal task of the job (of one party); returns those ended."""
        now = utcnow()
        query = select(Task).where(
            Task.job_id == job_id, Task.status.not_in(tuple(TERMINAL_STATUSES))
        )
        if party_id is not None:
            query = query.where(Task.party_id == party_id)
        with self._sessions.begin() as session:
            ended = [
                t for t in session.scalars(query.with_for_update()) if allowed(t.status, status)
            ]
            for task in ended:
                task.status = status
                task.error = error
                task.ended_at = now
            return ended

    def apply_event(self, event: TaskEvent) -> Task | None:
        """Apply an executor's event to its task; events for terminal tasks change nothing."""
        now = utcnow()
        with self._sessions.begin() as session:
            task = session.get(Task, event.task_id, with_for_update=True)
            if task is None:
                return None
            if event.kind == "log":
                session.add(
                    TaskLog(
                        job_id=task.job_id,
                        task_id=task.task_id,
                        created_at=now,
                        message=event.message,
                    )
                )
            if task.status in TERMINAL_STATUSES:
                return task
            task.last_seen = now
            if event.kind in ("started", "heartbeat") and allowed(task.status, "running"):
                task.status = "running"
                task.started_at = task.started_at or now
            elif event.kind in ("success", "failed") and allowed(task.status, event.kind):
                task.status = event.kind
                task.ended_at = now
                task.started_at = task.started_at or now
                task.error = event.message if event.kind == "failed" else ""
                if event.outputs is not None:
                    task.outputs = event.outputs.model_dump(mode="json")
                    task.metrics = dict(event.outputs.metrics)
            return task

    def apply_remote_status(
        self, job_id: str, component: str, party_id: int, entries: list[dict[str, Any]]
    ) -> None:
        """Copy another party's ``task_status`` reply into the initiator's task rows."""
        query = select(Task).where(
            Task.job_id == job_id, Task.component == component, Task.party_id == party_id
        )
        with self._sessions.begin() as session:
            by_role = {t.role: t for t in session.scalars(query)}
            for entry in entries:
                task = by_role.get(str(entry.get("role", "")))
                if task is None or task.status in TERMINAL_STATUSES:
                    continue
                status = str(entry.get("status", task.status))
                if status not in STATUSES or (
                    status != task.status and not allowed(task.status, status)
                ):
                    continue
                task.status = status
                task.error = str(entry.get("error") or "")
                for name in _TIME_FIELDS:
                    value = parse_time(entry.get(name))
                    if value is not None:
                        setattr(task, name, value)

    def running_tasks(self, party_id: int) -> list[Task]:
        """This party's tasks an executor has started and not finished."""
        query = select(Task).where(Task.party_id == party_id, Task.status == "running")
        with self._sessions() as session:
            return list(session.scalars(query))

    def queued_open_tasks(self, party_id: int) -> list[Task]:
        """This party's tasks handed to the queue and not finished."""
        query = select(Task).where(
            Task.party_id == party_id,
            Task.queued_at.is_not(None),
            Task.status.in_(("waiting", "running")),
        )
        with self._sessions() as session:
            return list(session.scalars(query))

    # logs

    def add_log(self, job_id: str, message: str, task_id: str = "") -> None:
        """Append a log entry to the job (``task_id`` empty for the flow's own entries)."""
        with self._sessions.begin() as session:
            session.add(
                TaskLog(job_id=job_id, task_id=task_id, created_at=utcnow(), message=message)
            )

    def logs(
        self, job_id: str, task_id: str | None = None, offset: int = 0, limit: int = 1000
    ) -> list[TaskLog]:
        """The job's log entries in order."""
        query = select(TaskLog).where(TaskLog.job_id == job_id)
        if task_id is not None:
            query = query.where(TaskLog.task_id == task_id)
        with self._sessions() as session:
            return list(session.scalars(query.order_by(TaskLog.id).offset(offset).limit(limit)))
