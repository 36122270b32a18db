"""What this site refuses at submission: jobs asking for keys shorter than its policy
(Paillier/OU ``encrypt_param.key_length``, and the DH group of Intersection's ``dh`` method).

The site's tasks refuse such keys anyway when they arrive (``FEDLOOM_MIN_KEY_LENGTH``); checking
the job's parameters when it is submitted (at the initiator) or created (at every other party)
fails it at once with the offending field, instead of minutes later inside a running task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fedloom.dsl.parameters import index_key
from services.flow.planning import PlannedJob, PlannedTask

KEY_FIELD = ("encrypt_param", "key_length")
"""Where a component's homomorphic key length lives (HeteroLR, LinR, Poisson, binning...)."""
DH_FIELD = ("dh_params", "key_length")
"""The group size of Intersection's DH method (checked when the method runs)."""


def key_length_problems(
    plan: PlannedJob, conf: Mapping[str, Any], minimum: int, party_id: int
) -> list[tuple[str, str]]:
    """``(field path, message)`` for every component whose key is shorter than ``minimum``."""
    problems: dict[str, str] = {}
    for task in plan.tasks:
        for field in _key_fields(task.params):
            value = _nested(task.params, field)
            if isinstance(value, int) and not isinstance(value, bool) and value < minimum:
                problems.setdefault(
                    _source(conf, task, field, len(plan.roles.get(task.role, []))),
                    f"key_length {value} is below the {minimum}-bit minimum of party "
                    f"{party_id}'s policy (FEDLOOM_MIN_KEY_LENGTH)",
                )
    return list(problems.items())


def _key_fields(params: Mapping[str, Any]) -> list[tuple[str, ...]]:
    fields: list[tuple[str, ...]] = [KEY_FIELD]
    dh = params.get("intersect_method") == "dh" or (
        params.get("cardinality_only") is True and params.get("cardinality_method") == "dh"
    )
    if dh:
        fields.append(DH_FIELD)
    return fields


def _nested(values: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    current: Any = values
    for key in keys:
        if not isinstance(current, Mapping) or key not in current:
            return None
        current = current[key]
    return current


def _source(conf: Mapping[str, Any], task: PlannedTask, field: tuple[str, ...], count: int) -> str:
    """The conf path that set ``field`` of the task (the common entry when it is a default);
    role keys select indices as the DSL's (``"0"``, ``"0|1"``, ``"all"``) among ``count``."""
    params = conf.get("component_parameters")
    params = params if isinstance(params, Mapping) else {}
    by_role = (params.get("role") or {}).get(task.role) or {}
    for key, values in by_role.items() if isinstance(by_role, Mapping) else ():
        selected = index_key(str(key), count)
        if isinstance(selected, list) and task.index in selected and isinstance(values, Mapping):
            if _nested(values.get(task.component) or {}, field) is not None:
                where = ["role", task.role, str(key), task.component, *field]
                return ".".join(["conf.component_parameters", *where])
    return ".".join(["conf.component_parameters.common", task.component, *field])
