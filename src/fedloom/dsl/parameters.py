"""``component_parameters`` and ``job_parameters`` of a runtime conf: merge, validate, locate.

Parameters of one task (component × role × index) are merged as FATE does, from the least to
the most specific source: ``common.<component>``, then ``role.<role>.all.<component>``, then
groups such as ``role.<role>."0|1".<component>``, then ``role.<role>."0".<component>``; nested
objects merge key by key. The merged dict is validated by the module's params model, and every
problem is reported at the path of the source that supplied the offending value.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from fedloom.dsl.errors import ErrorCollector, join_path
from fedloom.dsl.plan import TaskKey
from fedloom.dsl.spec import ROLE_NAMES, ModuleSpec

Source = tuple[str, dict[str, Any]]
"""``(path of the object in the conf, the object)`` that contributes parameters to a task."""

_INDEX = re.compile(r"[0-9]+(\|[0-9]+)*")
_BASE = "conf.component_parameters"


def index_key(key: str, count: int) -> list[int] | str:
    """The party indices a role key selects (``"all"``, ``"1"``, ``"0|1"``), or an error text."""
    if key == "all":
        return list(range(count))
    if not _INDEX.fullmatch(key):
        return "expected 'all', a party index or indices joined by '|' (e.g. '0|1')"
    indices = [int(part) for part in key.split("|")]
    for index in indices:
        if index >= count:
            plural = "party" if count == 1 else "parties"
            return f"index {index} is out of range: this role has {count} {plural} in conf.role"
    return sorted(set(indices))


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``override``, objects merged key by key (inputs are not changed)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def component_sources(
    section: object,
    roles: Mapping[str, list[int]],
    components: Mapping[str, ModuleSpec | None],
    errors: ErrorCollector,
) -> dict[TaskKey, list[Source]]:
    """Check the shape of ``conf.component_parameters``; the sources of each task, in order."""
    if section is None:
        section = {}
    if not isinstance(section, dict):
        errors.add(_BASE, "must be an object with 'common' and/or 'role'")
        return {}
    for key in section:
        if key not in ("common", "role"):
            errors.add(join_path(_BASE, key), "unknown key: parameters go under 'common' or 'role'")
    common = json_object(section.get("common"), join_path(_BASE, "common"), errors)
    common_sources: dict[str, Source] = {}
    for name, value in common.items():
        path = join_path(_BASE, "common", name)
        if name not in components:
            errors.add(path, f"no component {name!r} in dsl.components")
        elif isinstance(value, dict):
            common_sources[name] = (path, value)
        else:
            errors.add(path, "must be an object of parameters")

    role_sources: dict[TaskKey, list[Source]] = {}
    for role, by_index in json_object(
        section.get("role"), join_path(_BASE, "role"), errors
    ).items():
        role_path = join_path(_BASE, "role", role)
        if role not in ROLE_NAMES:
            errors.add(role_path, f"unknown role; expected one of {', '.join(ROLE_NAMES)}")
            continue
        if role not in roles:
            errors.add(role_path, f"role {role!r} is not in conf.role")
            continue
        ranked: list[tuple[int, str, list[int], dict[str, Any]]] = []
        for key, entries in json_object(by_index, role_path, errors).items():
            selected = index_key(key, len(roles[role]))
            if isinstance(selected, str):
                errors.add(join_path(role_path, key), selected)
                continue
            rank = 0 if key == "all" else 1 if "|" in key else 2
            ranked.append(
                (rank, key, selected, json_object(entries, join_path(role_path, key), errors))
            )
        for _, key, selected, entries in sorted(ranked, key=lambda r: r[0]):
            for name, value in entries.items():
                path = join_path(role_path, key, name)
                spec = components.get(name)
                if name not in components:
                    errors.add(path, f"no component {name!r} in dsl.components")
                elif spec is not None and role not in spec.roles:
                    errors.add(path, f"{name} ({spec.module}) does not run at the {role}")
                elif not isinstance(value, dict):
                    errors.add(path, "must be an object of parameters")
                else:
                    for index in selected:
                        role_sources.setdefault((name, role, index), []).append((path, value))

    tasks: dict[TaskKey, list[Source]] = {}
    for name, spec in components.items():
        if spec is None:
            continue
        for role in spec.roles:
            for index in range(len(roles.get(role, []))):
                own = [common_sources[name]] if name in common_sources else []
                tasks[(name, role, index)] = own + role_sources.get((name, role, index), [])
    return tasks


def validate_params(
    model: type[BaseModel],
    sources: list[Source],
    default_prefix: str,
    errors: ErrorCollector,
) -> dict[str, Any] | None:
    """Merge ``sources`` and validate them with ``model``: the normalised dict, or None."""
    merged: dict[str, Any] = {}
    for _, values in sources:
        merged = deep_merge(merged, values)
    try:
        return model.model_validate(merged).model_dump(mode="json")
    except ValidationError as exc:
        for err in exc.errors():
            loc = clean_loc(merged, err["loc"])
            errors.add(locate(sources, loc, default_prefix), error_message(err))
        return None


def clean_loc(data: object, loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The part of a pydantic error location that names fields of ``data`` (no union tags)."""
    out: list[int | str] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and isinstance(part, str):
            out.append(part)
            if part not in current:
                break
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            out.append(part)
            current = current[part]
        else:
            break
    return tuple(out)


def locate(sources: list[Source], loc: tuple[int | str, ...], default_prefix: str) -> str:
    """The conf path of the most specific source that supplied ``loc`` (the deepest match)."""
    for depth in range(len(loc), 0, -1):
        for prefix, values in reversed(sources):
            if _has(values, loc[:depth]):
                return join_path(prefix, *loc)
    if not loc and sources:
        return sources[-1][0]
    return join_path(default_prefix, *loc)


def error_message(err: Mapping[str, Any]) -> str:
    """A pydantic error as a sentence for the job's submitter."""
    kind = err.get("type")
    if kind == "extra_forbidden":
        return "unknown parameter"
    if kind == "missing":
        return "required parameter is missing"
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    value = err.get("input")
    if isinstance(value, str | int | float | bool) or value is None:
        message += f" (got {value!r})"
    return message


def _has(values: object, loc: tuple[int | str, ...]) -> bool:
    current = values
    for part in loc:
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            return False
    return True


def json_object(value: object, path: str, errors: ErrorCollector) -> dict[str, Any]:
    """``value`` if it is a JSON object, ``{}`` if absent; otherwise an error at ``path``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(path, "must be an object")
        return {}
    return value


def check_consistent(
    module_fields: tuple[str, ...],
    params: Mapping[TaskKey, dict[str, Any]],
    sources: Mapping[TaskKey, list[Source]],
    errors: ErrorCollector,
) -> None:
    """Report parameters of one component that differ between its tasks (protocol settings).

    A name may be dotted (``encrypt_param.method``) to require one field of a nested object
    only, leaving its other fields a local choice of each party.
    """
    tasks = list(params)
    if not tasks:
        return
    first = tasks[0]
    for name in module_fields:
        for task in tasks[1:]:
            mine, theirs = _nested(params[task], name), _nested(params[first], name)
            if mine != theirs:
                errors.add(
                    _field_source(sources[task], name, task),
                    f"must be the same at every party: {first[1]} {first[2]} has {theirs!r}, "
                    f"{task[1]} {task[2]} has {mine!r}",
                )


def _nested(values: Mapping[str, Any], dotted: str) -> Any:
    """``values["a"]["b"]`` for ``"a.b"``; ``None`` where a level is missing."""
    value: Any = values
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _field_source(sources: list[Source], name: str, task: TaskKey) -> str:
    for prefix, values in reversed(sources):
        if _nested(values, name) is not None:
            return join_path(prefix, name)
    return join_path(_BASE, "role", task[1], task[2], task[0], name)
