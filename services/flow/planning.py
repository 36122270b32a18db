"""The flow's view of a validated job, and the adapter from ``fedloom.dsl``.

The flow needs, per job: the initiator, the parties of each role, the components in DAG order
with their modules and inputs, the tasks of each party with their merged parameters, and the
timeout. :class:`PlannedJob` holds exactly that; a :class:`Planner` turns ``(dsl, conf)`` into
one or raises :class:`PlanError` whose errors name the offending field paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from fedloom.dsl import DslError, JobPlan, parse_job

DEFAULT_TIMEOUT_S = 86400.0


class PlanError(ValueError):
    """The job is invalid; ``errors`` is a list of (field path, message)."""

    def __init__(self, errors: Iterable[tuple[str, str]]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{path}: {msg}" for path, msg in self.errors))


@dataclass(frozen=True)
class InputRef:
    """One input of a component: ``slot`` ← output ``output`` of component ``component``."""

    slot: str
    kind: Literal["data", "model", "cache"]
    component: str
    output: str

    @property
    def deployed(self) -> bool:
        """Whether this reads the deployed model (``pipeline.<component>.model``) of a predict
        job instead of an output of this job; ``component`` is then ``pipeline.<name>``."""
        return self.component.startswith("pipeline.")


@dataclass(frozen=True)
class PlannedComponent:
    """One component of the DAG."""

    name: str
    module: str
    inputs: tuple[InputRef, ...] = ()
    data_outputs: tuple[str, ...] = ()
    """The names the DSL gives the component's data outputs, in order."""


@dataclass(frozen=True)
class PlannedTask:
    """One task: a component played by ``role`` (index ``index``) at ``party_id``."""

    component: str
    role: str
    index: int
    party_id: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedJob:
    """Everything the flow needs to know about a validated job."""

    initiator: int
    roles: dict[str, list[int]]
    components: tuple[PlannedComponent, ...]
    tasks: tuple[PlannedTask, ...]
    timeout_s: float = DEFAULT_TIMEOUT_S
    job_type: str = "train"
    model: tuple[str, str] | None = None
    """``(model_id, model_version)`` a predict job runs."""

    @property
    def parties(self) -> list[int]:
        """Every party id of the job, sorted, each once."""
        return sorted({p for ids in self.roles.values() for p in ids})

    def component(self, name: str) -> PlannedComponent:
        """The component called ``name`` (KeyError if none)."""
        for comp in self.components:
            if comp.name == name:
                return comp
        raise KeyError(name)

    def tasks_for_party(self, party_id: int, component: str | None = None) -> list[PlannedTask]:
        """The tasks of one party, in DAG order, optionally of one component only."""
        return [
            t
            for t in self.tasks
            if t.party_id == party_id and (component is None or t.component == component)
        ]


class Planner(Protocol):
    """Validates a job and plans it: ``(dsl, conf) -> PlannedJob``, or raises PlanError."""

    def __call__(self, dsl: dict[str, Any], conf: dict[str, Any]) -> PlannedJob:
        """Plan one job."""
        ...


def fedloom_planner(dsl: dict[str, Any], conf: dict[str, Any]) -> PlannedJob:
    """Validate and plan a job with :func:`fedloom.dsl.parse_job`."""
    try:
        plan = parse_job(dsl, conf)
    except DslError as exc:
        raise PlanError(exc.errors) from None
    return plan_from_jobplan(plan)


def plan_from_jobplan(plan: JobPlan) -> PlannedJob:
    """Convert a :class:`fedloom.dsl.JobPlan` into the flow's :class:`PlannedJob`.

    Inputs are keyed as ``ComponentPlan.input_keys()`` names them (``train_data``,
    ``data_1``...), the keys under which a task receives its artifacts.
    """
    components = tuple(
        PlannedComponent(
            comp.name,
            comp.module,
            tuple(
                InputRef(key, ref.kind, ref.component, ref.output)
                for key, ref in comp.input_keys().items()
            ),
            tuple(comp.outputs.get("data", [])),
        )
        for comp in plan.components
    )
    tasks = tuple(
        PlannedTask(comp, role, index, party, plan.params_for(comp, role, index))
        for party in plan.party_ids
        for comp, role, index in plan.tasks_for_party(party)
    )
    return PlannedJob(
        initiator=plan.initiator.party_id,
        roles={role: list(ids) for role, ids in plan.roles.items()},
        components=components,
        tasks=tasks,
        timeout_s=plan.timeout_s,
        job_type=plan.job_type,
        model=plan.model,
    )
