"""The initiator's scheduler: runs the jobs this party started, one component at a time.

A background thread wakes every ``poll_interval_s`` (or when woken) and advances each active
job this party initiated. All state lives in the database (task rows with ``queued_at`` and
the status last reported by each party), so a restarted flow resumes its jobs where they were.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from services.common.contracts import TERMINAL_STATUSES, ControlKind, ControlReply, ControlRequest
from services.flow.control import ControlHandler, Dispatcher, PlanCache
from services.flow.jobstore import JobStore, open_task_status
from services.flow.models import Job, as_utc, utcnow
from services.flow.planning import PlanError
from services.flow.settings import FlowSettings

log = logging.getLogger(__name__)


class Scheduler:
    """Runs jobs this party initiated: DAG order, polling, FATE aggregation, timeout, cancel."""

    def __init__(
        self,
        settings: FlowSettings,
        jobs: JobStore,
        plans: PlanCache,
        handler: ControlHandler,
        dispatcher: Dispatcher,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.plans = plans
        self.handler = handler
        self.dispatcher = dispatcher
        self.party_id = settings.party_id
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._unreachable: dict[tuple[str, int], float] = {}

    def start(self) -> None:
        """Start the background thread."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name=f"flow-scheduler-{self.party_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the background thread and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Run a tick now rather than at the next interval."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            self._wake.wait(self.settings.poll_interval_s)
            self._wake.clear()

    def tick(self) -> None:
        """One pass: reap silent tasks, then advance every active job this party initiated."""
        self.handler.reap_silent_tasks()
        for job in self.jobs.active_jobs(initiator=self.party_id):
            if self._stop.is_set():
                return
            with self._lock:
                self._step(job.job_id)

    def cancel(self, job_id: str, reason: str) -> bool:
        """Cancel a job at every party; False if it had already ended."""
        with self._lock:
            job = self.jobs.get_job(job_id)
            if job is None or job.status in TERMINAL_STATUSES:
                return False
            self._finish(job, "canceled", reason)
            return True

    def _step(self, job_id: str) -> None:
        job = self.jobs.get_job(job_id)
        if job is None or job.status in TERMINAL_STATUSES:
            return
        try:
            plan = self.plans.get(job)
        except PlanError as exc:
            self._finish(job, "failed", f"the stored job no longer validates: {exc}")
            return
        if job.status == "waiting":
            self.jobs.set_job_status(job_id, "running")
            self.jobs.add_log(job_id, "job running")
        started = as_utc(job.started_at) or utcnow()
        if (utcnow() - started).total_seconds() > plan.timeout_s:
            self._finish(
                job, "timeout", f"the job ran longer than its timeout of {plan.timeout_s:g} s"
            )
            return
        for component in plan.components:
            if not self._advance(job, component.name):
                return
        self._finish(job, "success", "every component succeeded")

    def _advance(self, job: Job, component: str) -> bool:
        """Dispatch and poll one component; True once every task of it succeeded."""
        tasks = self.jobs.tasks(job.job_id, component)
        if all(t.status == "success" for t in tasks):
            return True
        undispatched = sorted(
            {t.party_id for t in tasks if t.queued_at is None and t.status not in TERMINAL_STATUSES}
        )
        for party in undispatched:
            reply = self._send(job, party, "run_task", {"component": component})
            if reply is None:
                return False
            if not reply.ok:
                self._finish(
                    job, "failed", f"party {party} refused to run {component}: {reply.error}"
                )
                return False
            if party != self.party_id:
                self.jobs.mark_queued(t.task_id for t in tasks if t.party_id == party)
        for party in sorted({t.party_id for t in tasks} - {self.party_id}):
            reply = self._send(job, party, "task_status", {"component": component})
            if reply is None:
                return False
            if not reply.ok:
                self._finish(
                    job, "failed", f"party {party} could not report {component}: {reply.error}"
                )
                return False
            entries = reply.body.get("tasks")
            self.jobs.apply_remote_status(
                job.job_id, component, party, entries if isinstance(entries, list) else []
            )
        tasks = self.jobs.tasks(job.job_id, component)
        for bad, job_status in ((("failed", "timeout"), "failed"), (("canceled",), "canceled")):
            hit = next((t for t in tasks if t.status in bad), None)
            if hit is not None:
                why = f": {hit.error}" if hit.error else ""
                where = f"{component} {hit.status} at {hit.role} {hit.party_id}{why}"
                self._finish(job, job_status, where)
                return False
        return all(t.status == "success" for t in tasks)

    def _send(
        self, job: Job, party: int, kind: ControlKind, body: dict[str, Any]
    ) -> ControlReply | None:
        """Send a request; None when the party is unreachable (the job fails after a while)."""
        request = ControlRequest(
            src_party_id=self.party_id, dst_party_id=party, kind=kind, job_id=job.job_id, body=body
        )
        key = (job.job_id, party)
        try:
            reply = self.dispatcher.send(request)
        except Exception as exc:
            now = time.monotonic()
            first = self._unreachable.setdefault(key, now)
            if now - first >= self.settings.party_timeout_s:
                self._finish(
                    job, "failed", f"party {party} unreachable for {now - first:.0f} s: {exc}"
                )
            elif first == now:
                self.jobs.add_log(job.job_id, f"party {party} unreachable, retrying: {exc}")
            return None
        self._unreachable.pop(key, None)
        return reply

    def _finish(self, job: Job, status: str, reason: str) -> None:
        """End the job here and at every other party (``cancel_job`` carries the status).

        The other parties' task rows here are closed first, so that once the job shows a final
        status every task it lists does too; this party's own tasks are closed (and killed) by
        the same ``cancel_job`` handler that the other parties run, after the others for a
        success and before them otherwise.
        """
        parties = sorted({int(p) for ids in job.role.values() for p in ids})
        others = [p for p in parties if p != self.party_id]
        for party in others:
            self.jobs.end_open_tasks(job.job_id, open_task_status(status), reason, party)
        body = {"reason": reason, "status": status}
        # A success reaches the others first, so that once the initiator shows it every party
        # has registered its part of the model (a deploy right after needs them all); any other
        # ending stops this party's own tasks first.
        order = [*others, self.party_id] if status == "success" else [self.party_id, *others]
        for party in order:
            request = ControlRequest(
                src_party_id=self.party_id,
                dst_party_id=party,
                kind="cancel_job",
                job_id=job.job_id,
                body=body,
            )
            try:
                reply = self.dispatcher.send(request)
                error = "" if reply.ok else reply.error
            except Exception as exc:
                error = str(exc) or type(exc).__name__
            if error:
                message = f"could not tell party {party} the job ended: {error}"
                self.jobs.add_log(job.job_id, message)
        for key in [k for k in self._unreachable if k[0] == job.job_id]:
            del self._unreachable[key]
