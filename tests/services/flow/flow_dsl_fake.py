"""A small stand-in for ``fedloom.dsl``: enough of FATE DSL v2 to plan the flow's test jobs.

It reports errors with the same field paths the real parser uses
(``dsl.components.<name>.module``, ``conf.component_parameters.common.<comp>.<param>``, ...).
"""

from __future__ import annotations

from typing import Any

from services.flow.planning import (
    InputRef,
    PlanError,
    PlannedComponent,
    PlannedJob,
    PlannedTask,
)

MODULES: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "Reader": (frozenset({"table"}), ("guest", "host")),
    "DataTransform": (frozenset({"with_label", "label_name", "output_format"}), ("guest", "host")),
    "Intersection": (frozenset({"intersect_method"}), ("guest", "host")),
    "HeteroLR": (
        frozenset({"max_iter", "alpha", "learning_rate", "penalty", "batch_size", "optimizer"}),
        ("guest", "host", "arbiter"),
    ),
    "Evaluation": (frozenset({"eval_type"}), ("guest",)),
}
ROLES = ("guest", "host", "arbiter")


def dsl_inputs(dsl: dict[str, Any], name: str) -> tuple[InputRef, ...]:
    """``input.data.<slot>: ["comp.output"]`` and ``input.model: [...]`` of a component."""
    spec = dsl["components"][name].get("input") or {}
    refs: list[InputRef] = []
    for slot, sources in (spec.get("data") or {}).items():
        for i, source in enumerate(sources):
            comp, _, output = source.partition(".")
            refs.append(InputRef(slot if i == 0 else f"{slot}_{i}", "data", comp, output))
    for i, source in enumerate(spec.get("model") or []):
        comp, _, output = source.partition(".")
        refs.append(InputRef("model" if i == 0 else f"model_{i}", "model", comp, output))
    return tuple(refs)


def _check_params(
    errors: list[tuple[str, str]], path: str, params: Any, modules: dict[str, str]
) -> None:
    if not isinstance(params, dict):
        errors.append((path, "must be an object"))
        return
    for comp, values in params.items():
        if comp not in modules:
            errors.append((f"{path}.{comp}", f"no component {comp!r} in the dsl"))
            continue
        if not isinstance(values, dict):
            errors.append((f"{path}.{comp}", "must be an object"))
            continue
        known = MODULES[modules[comp]][0]
        for name in values:
            if name not in known:
                errors.append((f"{path}.{comp}.{name}", f"unknown parameter of {modules[comp]}"))


def _topological(modules: dict[str, str], dsl: dict[str, Any]) -> list[str]:
    order: list[str] = []
    pending = list(modules)
    while pending:
        ready = [n for n in pending if all(r.component in order for r in dsl_inputs(dsl, n))]
        if not ready:
            raise PlanError([("dsl.components", "the components form a cycle")])
        order.extend(ready)
        pending = [n for n in pending if n not in ready]
    return order


def fake_planner(dsl: dict[str, Any], conf: dict[str, Any]) -> PlannedJob:
    """Validate and plan a job (raises PlanError with field paths)."""
    errors: list[tuple[str, str]] = []
    components = dsl.get("components")
    if not isinstance(components, dict) or not components:
        raise PlanError([("dsl.components", "must be a non-empty object")])
    modules: dict[str, str] = {}
    for name, spec in components.items():
        module = spec.get("module") if isinstance(spec, dict) else None
        if module not in MODULES:
            errors.append((f"dsl.components.{name}.module", f"unknown module {module!r}"))
        else:
            modules[name] = module
    for name in modules:
        for ref in dsl_inputs(dsl, name):
            if ref.component not in components:
                path = f"dsl.components.{name}.input.{ref.kind}.{ref.slot}"
                errors.append((path, f"no component {ref.component!r}"))
    initiator = conf.get("initiator")
    if not isinstance(initiator, dict) or not isinstance(initiator.get("party_id"), int):
        errors.append(("conf.initiator", "must be {role, party_id}"))
    roles = conf.get("role")
    if not isinstance(roles, dict) or not all(
        r in ROLES and isinstance(v, list) and all(isinstance(p, int) for p in v)
        for r, v in roles.items()
    ):
        errors.append(("conf.role", "must map guest/host/arbiter to lists of party ids"))
        roles = {}
    params = conf.get("component_parameters", {})
    _check_params(errors, "conf.component_parameters.common", params.get("common", {}), modules)
    for role, by_index in params.get("role", {}).items():
        for index, values in by_index.items():
            path = f"conf.component_parameters.role.{role}.{index}"
            _check_params(errors, path, values, modules)
    if errors:
        raise PlanError(errors)
    assert isinstance(initiator, dict)
    order = _topological(modules, dsl)
    tasks: list[PlannedTask] = []
    for comp in order:
        for role in MODULES[modules[comp]][1]:
            for index, party in enumerate(roles.get(role, [])):
                merged = dict(params.get("common", {}).get(comp, {}))
                merged.update(
                    params.get("role", {}).get(role, {}).get(str(index), {}).get(comp, {})
                )
                tasks.append(PlannedTask(comp, role, index, party, merged))
    timeout = conf.get("job_parameters", {}).get("common", {}).get("timeout", 86400)
    return PlannedJob(
        initiator=int(initiator["party_id"]),
        roles={r: list(v) for r, v in roles.items()},
        components=tuple(PlannedComponent(n, modules[n], dsl_inputs(dsl, n)) for n in order),
        tasks=tuple(tasks),
        timeout_s=float(timeout),
    )
