"""Control messages from other flows (and from this flow's own scheduler) and their replies."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from services.common.contracts import TERMINAL_STATUSES, ControlReply, ControlRequest
from services.flow.jobstore import JobStore, make_task_id, open_task_status
from services.flow.models import Job, as_utc, iso, utcnow
from services.flow.modelstore import ModelError, ModelStore
from services.flow.planning import PlanError, PlannedJob, Planner
from services.flow.policy import key_length_problems
from services.flow.predict import predict_model
from services.flow.protocols import ControlChannel, TaskQueue
from services.flow.settings import FlowSettings
from services.flow.tablestore import TableStore
from services.flow.taskspec import InputError, SpecBuilder, missing_tables

log = logging.getLogger(__name__)


class Refused(Exception):
    """A control request this flow refuses; the message goes back to the sender, with the
    offending job fields (``errors``: field path, message) when the refusal is about them."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class PlanCache:
    """Plans of the jobs at this party, kept so that a job is planned once per process."""

    def __init__(self, planner: Planner, size: int = 256) -> None:
        self.planner = planner
        self._size = size
        self._plans: dict[str, PlannedJob] = {}
        self._lock = threading.Lock()

    def get(self, job: Job) -> PlannedJob:
        """The plan of a stored job."""
        with self._lock:
            plan = self._plans.get(job.job_id)
        if plan is None:
            plan = self.planner(job.dsl, job.conf)
            self.put(job.job_id, plan)
        return plan

    def put(self, job_id: str, plan: PlannedJob) -> None:
        """Remember a plan (the oldest one is dropped when full)."""
        with self._lock:
            self._plans[job_id] = plan
            while len(self._plans) > self._size:
                self._plans.pop(next(iter(self._plans)))


class ControlHandler:
    """Handles ``create_job``, ``run_task``, ``task_status``, ``cancel_job``, ``job_status``,
    ``ping`` for this party, and watches its running tasks' heartbeats."""

    def __init__(
        self,
        settings: FlowSettings,
        jobs: JobStore,
        tables: TableStore,
        plans: PlanCache,
        queue: TaskQueue,
        models: ModelStore,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.tables = tables
        self.plans = plans
        self.queue = queue
        self.models = models
        self.specs = SpecBuilder(settings, jobs, tables, models)
        self._handlers: dict[str, Callable[[ControlRequest], dict[str, Any]]] = {
            "ping": self._ping,
            "create_job": self._create_job,
            "run_task": self._run_task,
            "task_status": self._task_status,
            "cancel_job": self._cancel_job,
            "job_status": self._job_status,
            "deploy_model": self._deploy_model,
        }

    @property
    def party_id(self) -> int:
        """This party's id."""
        return self.settings.party_id

    def handle(self, request: ControlRequest) -> ControlReply:
        """Answer one control request; refusals come back as ``ok=False`` with the reason."""
        try:
            if request.dst_party_id != self.party_id:
                raise Refused(f"this is party {self.party_id}, not {request.dst_party_id}")
            src = request.src_party_id
            if src != self.party_id and src not in self.settings.routes:
                raise Refused(f"party {src} is not in the routes of party {self.party_id}")
            return ControlReply(ok=True, body=self._handlers[request.kind](request))
        except Refused as exc:
            body: dict[str, Any] = {"refused": True}
            if exc.errors:
                body["errors"] = [list(e) for e in exc.errors]
            return ControlReply(ok=False, error=str(exc), body=body)

    def _ping(self, request: ControlRequest) -> dict[str, Any]:
        return {"party_id": self.party_id}

    def _create_job(self, request: ControlRequest) -> dict[str, Any]:
        dsl, conf = request.body.get("dsl"), request.body.get("conf")
        if not request.job_id or not isinstance(dsl, dict) or not isinstance(conf, dict):
            raise Refused("create_job needs a job_id and a body with 'dsl' and 'conf' objects")
        existing = self.jobs.get_job(request.job_id)
        if existing is not None:
            if existing.initiator == request.src_party_id and (existing.dsl, existing.conf) == (
                dsl,
                conf,
            ):
                return {}
            raise Refused(f"job {request.job_id} already exists at party {self.party_id}")
        try:
            plan = self.plans.planner(dsl, conf)
        except PlanError as exc:
            raise Refused(f"invalid job: {exc}") from None
        if plan.initiator != request.src_party_id:
            raise Refused(
                f"party {request.src_party_id} is not the job's initiator ({plan.initiator})"
            )
        if self.party_id not in plan.parties:
            raise Refused(f"party {self.party_id} plays no role in the job")
        policy = key_length_problems(plan, conf, self.settings.min_key_length, self.party_id)
        if policy:
            raise Refused("; ".join(f"{p}: {m}" for p, m in policy), policy)
        missing = missing_tables(plan, self.party_id, self.tables)
        if missing:
            raise Refused("; ".join(sorted({why for _, why in missing})))
        self.jobs.create_job(request.job_id, plan, dsl, conf, [self.party_id])
        self.plans.put(request.job_id, plan)
        self.jobs.add_log(request.job_id, f"job created by initiator {request.src_party_id}")
        return {}

    def _job(self, request: ControlRequest) -> Job:
        job = self.jobs.get_job(request.job_id)
        if job is None:
            raise Refused(f"no job {request.job_id!r} at party {self.party_id}")
        if request.src_party_id not in (job.initiator, self.party_id):
            raise Refused(f"party {request.src_party_id} is not the initiator of the job")
        return job

    def _component(self, request: ControlRequest, plan: PlannedJob) -> str:
        name = request.body.get("component")
        if not isinstance(name, str) or name not in {c.name for c in plan.components}:
            raise Refused(f"job {request.job_id} has no component {name!r}")
        return name

    def _run_task(self, request: ControlRequest) -> dict[str, Any]:
        job = self._job(request)
        if job.status in TERMINAL_STATUSES:
            raise Refused(f"job {job.job_id} is already {job.status} at party {self.party_id}")
        plan = self.plans.get(job)
        component = self._component(request, plan)
        self.jobs.set_job_status(job.job_id, "running")
        for task in plan.tasks_for_party(self.party_id, component):
            task_id = make_task_id(job.job_id, task.component, task.role, task.party_id)
            row = self.jobs.get_task(task_id)
            if row is None or row.queued_at is not None or row.status in TERMINAL_STATUSES:
                continue
            try:
                spec = self.specs.build(job.job_id, plan, task)
            except InputError as exc:
                self._fail(job.job_id, task_id, str(exc))
                continue
            self.jobs.mark_queued([task_id])
            try:
                self.queue.put(spec)
            except Exception as exc:
                self._fail(job.job_id, task_id, f"could not enqueue the task: {exc}")
                continue
            self.jobs.add_log(job.job_id, f"{task.component} ({task.role}) queued", task_id)
        return {}

    def _fail(self, job_id: str, task_id: str, reason: str) -> None:
        if self.jobs.end_task(task_id, "failed", reason):
            self.jobs.add_log(job_id, f"task failed: {reason}", task_id)

    def _task_status(self, request: ControlRequest) -> dict[str, Any]:
        job = self._job(request)
        component = self._component(request, self.plans.get(job))
        tasks = self.jobs.tasks(job.job_id, component, party_id=self.party_id)
        return {
            "tasks": [
                {
                    "role": t.role,
                    "party_id": t.party_id,
                    "status": t.status,
                    "error": t.error,
                    "started_at": iso(t.started_at),
                    "ended_at": iso(t.ended_at),
                }
                for t in tasks
            ]
        }

    def _cancel_job(self, request: ControlRequest) -> dict[str, Any]:
        job = self._job(request)
        status = request.body.get("status", "canceled")
        if status not in TERMINAL_STATUSES:
            raise Refused(f"cancel_job: {status!r} is not a final job status")
        self.end_job(job.job_id, status, str(request.body.get("reason") or status))
        return {}

    def _job_status(self, request: ControlRequest) -> dict[str, Any]:
        return {"status": self._job(request).status}

    def _deploy_model(self, request: ControlRequest) -> dict[str, Any]:
        body = request.body
        model_id, version = str(body.get("model_id", "")), str(body.get("model_version", ""))
        child, dsl = str(body.get("child_version", "")), body.get("inference_dsl")
        if not isinstance(dsl, dict):
            raise Refused("deploy_model needs an inference_dsl object")
        parent = self.models.get(model_id, version)
        if parent is None:
            raise Refused(f"party {self.party_id} has no model {model_id} version {version}")
        parties = {int(p) for ids in parent.roles.values() for p in ids}
        if request.src_party_id not in parties:
            raise Refused(f"party {request.src_party_id} is not a party of model {model_id}")
        try:
            self.models.add_child(parent, child, dsl)
        except ModelError as exc:
            raise Refused(str(exc)) from None
        return {"model_id": model_id, "model_version": child}

    def end_job(self, job_id: str, status: str, reason: str) -> None:
        """End the job here with ``status``; this party's open tasks are canceled and killed.
        A train job that succeeded registers this party's part of its model."""
        if self.jobs.set_job_status(job_id, status, "" if status == "success" else reason):
            self.jobs.add_log(job_id, f"job {status}: {reason}")
            if status == "success":
                self._register_model(job_id)
        ended = self.jobs.end_open_tasks(job_id, open_task_status(status), reason, self.party_id)
        for task in ended:
            if task.queued_at is not None:
                self._kill(task.task_id)

    def _register_model(self, job_id: str) -> None:
        job = self.jobs.get_job(job_id)
        if job is None or predict_model(job.conf) is not None:
            return
        try:
            model = self.models.register_job(job, self.jobs.tasks(job_id, party_id=self.party_id))
        except ModelError as exc:
            self.jobs.add_log(job_id, f"could not register the job's model: {exc}")
            return
        if model is not None:
            self.jobs.add_log(
                job_id, f"model registered: {model.model_id} version {model.model_version}"
            )

    def _kill(self, task_id: str) -> None:
        try:
            self.queue.cancel(task_id)
        except Exception:
            log.exception("could not cancel task %s", task_id)

    def reap_silent_tasks(self) -> None:
        """Fail running tasks whose executor stopped sending heartbeats."""
        limit = self.settings.heartbeat_timeout_s
        cutoff = utcnow() - timedelta(seconds=limit)
        for task in self.jobs.running_tasks(self.party_id):
            seen = as_utc(task.last_seen or task.started_at)
            if seen is not None and seen < cutoff:
                reason = f"no heartbeat from the executor for {limit:g} s"
                self._fail(task.job_id, task.task_id, reason)
                self._kill(task.task_id)

    def fail_lost_tasks(self) -> None:
        """After a restart with an in-process queue: its queued and running tasks are gone."""
        for task in self.jobs.queued_open_tasks(self.party_id):
            self._fail(task.job_id, task.task_id, "the flow restarted and its task queue was lost")


class Dispatcher:
    """Sends control requests: to this party's handler directly, to others through the channel."""

    def __init__(self, party_id: int, handler: ControlHandler, channel: ControlChannel) -> None:
        self.party_id = party_id
        self._handler = handler
        self._channel = channel

    def send(self, request: ControlRequest) -> ControlReply:
        """Deliver ``request`` and return the reply (raises when a peer is unreachable)."""
        if request.dst_party_id == self.party_id:
            return self._handler.handle(request)
        return self._channel.send(request)
