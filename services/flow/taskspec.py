"""Building this party's :class:`TaskSpec` for a task: inputs, output directory, endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from services.common.contracts import ArtifactRef, Role, TaskOutputs, TaskSpec
from services.flow.jobstore import JobStore, make_task_id
from services.flow.modelstore import ModelStore
from services.flow.planning import InputRef, PlannedJob, PlannedTask
from services.flow.settings import FlowSettings
from services.flow.tablestore import TableStore

READER_MODULES = frozenset({"Reader"})


class InputError(Exception):
    """An input of the task cannot be resolved (missing table, upstream output absent)."""


def reader_table(params: dict[str, Any]) -> tuple[str, str] | None:
    """``(namespace, name)`` of a Reader's ``table`` parameter, or None when absent."""
    table = params.get("table")
    if not isinstance(table, dict):
        return None
    namespace, name = table.get("namespace"), table.get("name")
    if not isinstance(namespace, str) or not isinstance(name, str):
        return None
    return namespace, name


def missing_tables(
    plan: PlannedJob, party_id: int, tables: TableStore
) -> list[tuple[PlannedTask, str]]:
    """This party's Reader tasks whose table is not here, each with what is missing."""
    readers = {c.name for c in plan.components if c.module in READER_MODULES}
    missing: list[tuple[PlannedTask, str]] = []
    for task in plan.tasks_for_party(party_id):
        if task.component not in readers:
            continue
        key = reader_table(task.params)
        if key is None:
            missing.append((task, f"{task.component} has no table parameter for {task.role}"))
        elif tables.get(*key) is None:
            missing.append((task, f"table {key[0]}/{key[1]} not found at party {party_id}"))
    return missing


def pick_output(
    written: dict[str, ArtifactRef], name: str, declared: tuple[str, ...]
) -> ArtifactRef | None:
    """The data output the DSL calls ``name``: the component's output of that key, else the
    one at the same position among the DSL's ``declared`` names (a component writes its
    outputs under its own names, ``data`` for most; FATE job files name them freely)."""
    if name in written:
        return written[name]
    if name in declared:
        position = declared.index(name)
        values = list(written.values())
        return values[position] if position < len(values) else None
    return None


class SpecBuilder:
    """Resolves a task's inputs at this party and fills in the rest of its TaskSpec."""

    def __init__(
        self, settings: FlowSettings, jobs: JobStore, tables: TableStore, models: ModelStore
    ) -> None:
        self._settings = settings
        self._jobs = jobs
        self._tables = tables
        self._models = models
        self._jobs_dir = settings.data_dir.resolve() / "jobs"

    def output_dir(self, job_id: str, task: PlannedTask) -> Path:
        """Where the task writes its outputs."""
        return self._jobs_dir / job_id / task.component / f"{task.role}_{task.party_id}"

    def build(self, job_id: str, plan: PlannedJob, task: PlannedTask) -> TaskSpec:
        """The TaskSpec of ``task`` (InputError if an input is missing)."""
        component = plan.component(task.component)
        if component.module in READER_MODULES:
            inputs = {"table": self._table_input(task)}
        else:
            inputs = {}
            for ref in component.inputs:
                if ref.deployed:
                    artifact = self._deployed(plan, task, ref)
                else:
                    names = plan.component(ref.component).data_outputs
                    artifact = self._upstream(job_id, task, ref, names)
                if artifact is not None:
                    inputs[ref.slot] = artifact
        out = self.output_dir(job_id, task)
        out.mkdir(parents=True, exist_ok=True)
        return TaskSpec(
            task_id=make_task_id(job_id, task.component, task.role, task.party_id),
            job_id=job_id,
            component=task.component,
            module=component.module,
            role=cast(Role, task.role),
            party_id=task.party_id,
            parties={cast(Role, role): list(ids) for role, ids in plan.roles.items()},
            params=dict(task.params),
            inputs=inputs,
            output_dir=str(out),
            proxy_address=self._settings.proxy_address,
            flow_url=self._settings.own_flow_url,
            timeout_s=plan.timeout_s,
        )

    def _table_input(self, task: PlannedTask) -> ArtifactRef:
        key = reader_table(task.params)
        if key is None:
            raise InputError(f"{task.component}: no table parameter for {task.role}")
        row = self._tables.get(*key)
        if row is None:
            raise InputError(f"{task.component}: table {key[0]}/{key[1]} not found")
        meta = {
            "namespace": row.namespace,
            "name": row.name,
            "id_column": row.id_column,
            "label_column": row.label_column,
            "header": list(row.header),
            "head": True,
            "rows": row.rows,
            "format": dict(row.meta or {}),
        }
        return ArtifactRef(kind="table", path=row.path, meta=meta)

    def _upstream(
        self, job_id: str, task: PlannedTask, ref: InputRef, names: tuple[str, ...] = ()
    ) -> ArtifactRef | None:
        """The upstream output for this role at this party, or None when there is none: the
        upstream component does not run for this role here, or did not write that output (as
        in FATE, e.g. the arbiter gets no data). A component that needs it says so itself."""
        upstream_id = make_task_id(job_id, ref.component, task.role, task.party_id)
        upstream = self._jobs.get_task(upstream_id)
        if upstream is None:
            return None
        if upstream.status != "success" or upstream.outputs is None:
            raise InputError(
                f"{task.component}: input {ref.slot} from {ref.component}.{ref.output}: "
                f"{ref.component} is {upstream.status}, not success"
            )
        outputs = TaskOutputs.model_validate(upstream.outputs)
        if ref.kind == "model":
            return outputs.model
        if ref.kind == "cache":
            return outputs.cache
        return pick_output(outputs.data, ref.output, names)

    def _deployed(self, plan: PlannedJob, task: PlannedTask, ref: InputRef) -> ArtifactRef | None:
        """This party's part of the deployed model of ``pipeline.<component>``, or None when
        this role holds none of it (the component decides whether it needs one)."""
        if plan.model is None:
            raise InputError(f"{task.component}: {ref.component} is read outside a predict job")
        model = self._models.get(*plan.model)
        if model is None:
            raise InputError(f"{task.component}: model {plan.model[0]} {plan.model[1]} is gone")
        path = self._models.path(model, ref.component.removeprefix("pipeline."), task.role)
        return None if path is None else ArtifactRef(kind="model", path=str(path))
