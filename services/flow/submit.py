"""Job submission at the initiator: validate, create the job at every party, store it."""

from __future__ import annotations

import secrets
from typing import Any

from services.common.contracts import ControlRequest
from services.flow.control import Dispatcher, PlanCache
from services.flow.jobstore import JobStore
from services.flow.models import Job, utcnow
from services.flow.planning import PlanError, PlannedJob
from services.flow.policy import key_length_problems
from services.flow.scheduler import Scheduler
from services.flow.settings import FlowSettings
from services.flow.tablestore import TableStore
from services.flow.taskspec import missing_tables


class SubmitError(Exception):
    """The submission was rejected: HTTP ``status_code`` with a JSON ``detail``."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status_code = status_code
        self.detail = detail


def field_error(path: str, message: str, kind: str = "job_error") -> dict[str, Any]:
    """One entry of a 422 detail, shaped like FastAPI's own validation errors."""
    return {"loc": path.split("."), "path": path, "msg": message, "type": kind}


def new_job_id() -> str:
    """A FATE-style job id: UTC timestamp to the microsecond plus two random digits."""
    return f"{utcnow():%Y%m%d%H%M%S%f}{secrets.randbelow(100):02d}"


class JobSubmitter:
    """Handles ``POST /api/v1/jobs``."""

    def __init__(
        self,
        settings: FlowSettings,
        jobs: JobStore,
        tables: TableStore,
        plans: PlanCache,
        dispatcher: Dispatcher,
        scheduler: Scheduler,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.tables = tables
        self.plans = plans
        self.dispatcher = dispatcher
        self.scheduler = scheduler

    def submit(self, dsl: dict[str, Any], conf: dict[str, Any]) -> Job:
        """Validate and start a job; SubmitError (422, 409, 502) when it cannot start."""
        try:
            plan = self.plans.planner(dsl, conf)
        except PlanError as exc:
            raise SubmitError(422, [field_error(p, m) for p, m in exc.errors]) from None
        self._check_local(plan, conf)
        job_id = new_job_id()
        others = [p for p in plan.parties if p != self.settings.party_id]
        accepted: list[int] = []
        for party in others:
            failure = self._create_at(job_id, party, dsl, conf)
            if failure is not None:
                code, message, fields = failure
                self.jobs.create_job(
                    job_id, plan, dsl, conf, plan.parties, status="failed", error=message
                )
                self.jobs.add_log(job_id, message)
                self._abort_at(job_id, accepted, message)
                detail: Any = {"message": message, "job_id": job_id, "party_id": party}
                if fields:
                    detail = [field_error(p, f"party {party} refuses: {m}") for p, m in fields]
                raise SubmitError(code, detail)
            accepted.append(party)
        job = self.jobs.create_job(job_id, plan, dsl, conf, plan.parties)
        self.plans.put(job_id, plan)
        self.jobs.add_log(job_id, f"job submitted; created at parties {plan.parties}")
        self.scheduler.wake()
        return job

    def _check_local(self, plan: PlannedJob, conf: dict[str, Any]) -> None:
        own = self.settings.party_id
        errors: list[dict[str, Any]] = []
        if plan.initiator != own:
            errors.append(
                field_error(
                    "conf.initiator.party_id",
                    f"this flow is party {own}; it can only submit jobs it initiates "
                    f"(got {plan.initiator})",
                )
            )
        for role, ids in plan.roles.items():
            for index, party in enumerate(ids):
                if party != own and party not in self.settings.routes:
                    errors.append(
                        field_error(
                            f"conf.role.{role}.{index}",
                            f"party {party} is not in the routes of party {own}",
                        )
                    )
        minimum = self.settings.min_key_length
        for path, message in key_length_problems(plan, conf, minimum, own):
            errors.append(field_error(path, message))
        for task, why in missing_tables(plan, own, self.tables):
            path = f"conf.component_parameters.role.{task.role}.{task.index}.{task.component}.table"
            errors.append(field_error(path, why))
        if errors:
            raise SubmitError(422, errors)

    def _create_at(
        self, job_id: str, party: int, dsl: dict[str, Any], conf: dict[str, Any]
    ) -> tuple[int, str, list[tuple[str, str]]] | None:
        """None when ``party`` created the job; else the HTTP status, the reason and the
        offending fields when the party named them (a refusal by its policy: 422)."""
        request = ControlRequest(
            src_party_id=self.settings.party_id,
            dst_party_id=party,
            kind="create_job",
            job_id=job_id,
            body={"dsl": dsl, "conf": conf},
        )
        try:
            reply = self.dispatcher.send(request)
        except Exception as exc:
            return 502, f"party {party} unreachable: {exc or type(exc).__name__}", []
        if not reply.ok:
            raw = reply.body.get("errors")
            fields = [
                (str(e[0]), str(e[1])) for e in raw or [] if isinstance(e, list) and len(e) == 2
            ]
            code = 422 if fields else 409
            return code, f"party {party} refused the job: {reply.error}", fields
        return None

    def _abort_at(self, job_id: str, parties: list[int], reason: str) -> None:
        for party in parties:
            request = ControlRequest(
                src_party_id=self.settings.party_id,
                dst_party_id=party,
                kind="cancel_job",
                job_id=job_id,
                body={"reason": reason, "status": "failed"},
            )
            try:
                self.dispatcher.send(request)
            except Exception as exc:
                self.jobs.add_log(job_id, f"could not tell party {party} the job failed: {exc}")
