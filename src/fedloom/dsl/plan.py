"""The validated form of a job: parties, components in DAG order, and each task's parameters."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

DEFAULT_TIMEOUT_S = 86400.0
"""``job_parameters.common.timeout`` when the conf does not set it (seconds)."""

TaskKey = tuple[str, str, int]
"""``(component, role, index)``: one component run by the party at ``conf.role[role][index]``."""


@dataclass(frozen=True)
class Initiator:
    """The party that submitted the job and schedules it."""

    role: str
    party_id: int


@dataclass(frozen=True)
class InputRef:
    """One input of a component: slot ``slot`` reads output ``output`` (of ``kind``) of
    ``component``, e.g. ``train_data`` ← ``intersection_0.data``."""

    slot: str
    kind: Literal["data", "model", "cache"]
    component: str
    output: str

    def __str__(self) -> str:
        return f"{self.component}.{self.output}"

    @property
    def deployed(self) -> bool:
        """Whether this reads a deployed model (``pipeline.<component>.model``) rather than an
        output of this job; ``component`` is then ``pipeline.<component>``."""
        return self.component.startswith("pipeline.")


@dataclass(frozen=True)
class ComponentPlan:
    """One component of the DAG: its module, the roles that run it, and its resolved inputs."""

    name: str
    module: str
    roles: tuple[str, ...]
    inputs: tuple[InputRef, ...] = ()
    outputs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def upstream(self) -> tuple[str, ...]:
        """Names of the components of this job it reads from, each once, in input order."""
        return tuple(dict.fromkeys(ref.component for ref in self.inputs if not ref.deployed))

    def inputs_by_slot(self) -> dict[str, list[InputRef]]:
        """Input slot (``train_data``, ``model``...) → its references, in DSL order."""
        slots: dict[str, list[InputRef]] = {}
        for ref in self.inputs:
            slots.setdefault(ref.slot, []).append(ref)
        return slots

    def input_keys(self) -> dict[str, InputRef]:
        """The keys under which a task receives its inputs (``run_task(inputs=...)``).

        The first reference of a slot is keyed by the slot name (``train_data``), further ones
        by ``<slot>_<i>`` (``data_1``), the convention the flow uses to hand artifacts over.
        """
        keys: dict[str, InputRef] = {}
        count: dict[str, int] = {}
        for ref in self.inputs:
            i = count.get(ref.slot, 0)
            count[ref.slot] = i + 1
            keys[ref.slot if i == 0 else f"{ref.slot}_{i}"] = ref
        return keys


@dataclass
class JobPlan:
    """A validated FATE DSL v2 job, as :func:`fedloom.dsl.parse_job` returns it."""

    initiator: Initiator
    roles: dict[str, list[int]]
    components: list[ComponentPlan]
    job_parameters: dict[str, Any] = field(default_factory=dict)
    params: dict[TaskKey, dict[str, Any]] = field(default_factory=dict)
    role_job_parameters: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    @property
    def timeout_s(self) -> float:
        """The job's timeout in seconds (``job_parameters.common.timeout``)."""
        return float(self.job_parameters.get("timeout", DEFAULT_TIMEOUT_S))

    @property
    def job_type(self) -> str:
        """``train`` or ``predict``."""
        return str(self.job_parameters.get("job_type", "train"))

    @property
    def model(self) -> tuple[str, str] | None:
        """``(model_id, model_version)`` a predict job runs, None for a train job."""
        if self.job_type != "predict":
            return None
        return str(self.job_parameters["model_id"]), str(self.job_parameters["model_version"])

    @property
    def party_ids(self) -> list[int]:
        """Every party id of the job, sorted, each once."""
        return sorted({p for ids in self.roles.values() for p in ids})

    def component(self, name: str) -> ComponentPlan:
        """The component called ``name`` (KeyError if the job has none)."""
        for comp in self.components:
            if comp.name == name:
                return comp
        raise KeyError(name)

    def params_for(self, component: str, role: str, index: int) -> dict[str, Any]:
        """Merged, validated and normalised parameters of one task (a fresh copy).

        Every parameter of the module is present, defaults included, so the dict can be given
        to ``fedloom.components.run_task`` as is. KeyError if the component does not run at
        ``conf.role[role][index]``.
        """
        try:
            return copy.deepcopy(self.params[(component, role, index)])
        except KeyError:
            raise KeyError(f"{component} has no task for {role} index {index}") from None

    def tasks_for_party(self, party_id: int) -> list[TaskKey]:
        """``(component, role, index)`` of every task ``party_id`` runs, in DAG order.

        A party playing several roles (host and arbiter) gets one task per role.
        """
        tasks: list[TaskKey] = []
        for comp in self.components:
            for role in comp.roles:
                for index, pid in enumerate(self.roles.get(role, [])):
                    if pid == party_id:
                        tasks.append((comp.name, role, index))
        return tasks

    def job_parameters_for(self, role: str, index: int) -> dict[str, Any]:
        """``job_parameters.common`` overlaid with that role/index's ``job_parameters.role``."""
        merged = copy.deepcopy(self.job_parameters)
        merged.update(copy.deepcopy(self.role_job_parameters.get((role, index), {})))
        return merged

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_json` rebuilds an equal plan."""
        return {
            "initiator": {"role": self.initiator.role, "party_id": self.initiator.party_id},
            "roles": {role: list(ids) for role, ids in self.roles.items()},
            "components": [
                {
                    "name": c.name,
                    "module": c.module,
                    "roles": list(c.roles),
                    "inputs": [[r.slot, r.kind, r.component, r.output] for r in c.inputs],
                    "outputs": {k: list(v) for k, v in c.outputs.items()},
                }
                for c in self.components
            ],
            "job_parameters": copy.deepcopy(self.job_parameters),
            "role_job_parameters": [
                {"role": role, "index": index, "parameters": copy.deepcopy(value)}
                for (role, index), value in self.role_job_parameters.items()
            ],
            "params": [
                {"component": c, "role": r, "index": i, "parameters": copy.deepcopy(value)}
                for (c, r, i), value in self.params.items()
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobPlan:
        """Inverse of :meth:`to_json` (for plans this module wrote; not a validator)."""
        components = [
            ComponentPlan(
                name=str(c["name"]),
                module=str(c["module"]),
                roles=tuple(str(r) for r in c["roles"]),
                inputs=tuple(
                    InputRef(str(slot), _kind(kind), str(comp), str(out))
                    for slot, kind, comp, out in c["inputs"]
                ),
                outputs={str(k): [str(n) for n in v] for k, v in c["outputs"].items()},
            )
            for c in data["components"]
        ]
        return cls(
            initiator=Initiator(str(data["initiator"]["role"]), int(data["initiator"]["party_id"])),
            roles={str(r): [int(p) for p in ids] for r, ids in data["roles"].items()},
            components=components,
            job_parameters=copy.deepcopy(data.get("job_parameters", {})),
            params={
                (str(p["component"]), str(p["role"]), int(p["index"])): copy.deepcopy(
                    p["parameters"]
                )
                for p in data.get("params", [])
            },
            role_job_parameters={
                (str(p["role"]), int(p["index"])): copy.deepcopy(p["parameters"])
                for p in data.get("role_job_parameters", [])
            },
        )


def _kind(value: object) -> Literal["data", "model", "cache"]:
    if value == "model":
        return "model"
    return "cache" if value == "cache" else "data"
