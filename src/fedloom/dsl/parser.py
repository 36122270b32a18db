"""``parse_job(dsl, conf)``: validate a FATE DSL v2 job and plan it.

Everything that can be checked independently is checked, and all problems are raised together
in one :class:`DslError` whose ``errors`` name each offending field by its path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fedloom.components import REGISTRY
from fedloom.dsl.errors import DslError, ErrorCollector, join_path
from fedloom.dsl.inputs import COMPONENTS, NAME, Component, parse_inputs, parse_outputs
from fedloom.dsl.job_parameters import parse_job_parameters
from fedloom.dsl.parameters import check_consistent, component_sources, validate_params
from fedloom.dsl.plan import ComponentPlan, Initiator, JobPlan, TaskKey
from fedloom.dsl.spec import (
    ROLE_NAMES,
    ModuleSpec,
)

_CONF_KEYS = ("dsl_version", "initiator", "role", "job_parameters", "component_parameters")
_V1_KEYS = ("role_parameters", "algorithm_parameters")
_COMPONENT_KEYS = ("module", "input", "output", "provider", "need_deploy", "CodePath")
_DSL_KEYS = ("components", "provider")


def parse_job(
    dsl: dict[str, Any], conf: dict[str, Any], registry: Mapping[str, ModuleSpec] | None = None
) -> JobPlan:
    """Validate a FATE DSL v2 ``dsl`` and runtime ``conf``; return the job's plan.

    ``registry`` maps module names to their specs; by default the modules of
    ``fedloom.components``. Raises :class:`DslError` listing every problem found.
    """
    if registry is None:
        registry = REGISTRY
    errors = ErrorCollector()
    if not isinstance(dsl, dict):
        errors.add("dsl", "must be a JSON object")
    if not isinstance(conf, dict):
        errors.add("conf", "must be a JSON object")
    errors.raise_if_any()

    _check_conf(conf, errors)
    roles = _parse_roles(conf.get("role"), errors)
    initiator = _parse_initiator(conf.get("initiator"), roles, errors)
    job_parameters, role_job_parameters = parse_job_parameters(
        conf.get("job_parameters"), roles or {}, errors
    )
    predict = job_parameters.get("job_type") == "predict"
    components = _parse_components(dsl, registry, errors, predict)
    order = _topological_order(components, errors)
    for comp in components.values():
        if comp.spec is not None and roles is not None:
            for role in comp.spec.required_roles:
                if not roles.get(role):
                    errors.add(
                        join_path(COMPONENTS, comp.name, "module"),
                        f"{comp.module} needs a {role} in conf.role",
                    )
    params = _parse_params(conf.get("component_parameters"), roles or {}, components, errors)
    errors.raise_if_any()
    assert roles is not None and initiator is not None
    plans = [
        ComponentPlan(
            name=comp.name,
            module=comp.module,
            roles=tuple(r for r in comp.spec.roles if roles.get(r)) if comp.spec else (),
            inputs=tuple(comp.inputs),
            outputs=comp.outputs,
        )
        for comp in (components[name] for name in order)
    ]
    return JobPlan(initiator, roles, plans, job_parameters, params, role_job_parameters)


def load_json(text: str | bytes, what: str = "dsl") -> dict[str, Any]:
    """Parse a job file, refusing duplicate keys (``json.loads`` would keep the last silently).

    Raises :class:`DslError` at path ``what`` (plus the duplicated key's path).
    """

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                raise DslError(join_path(what, key), f"key {key!r} appears twice")
            seen[key] = value
        return seen

    try:
        value = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise DslError(what, f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise DslError(what, "must be a JSON object")
    return value


def _check_conf(conf: dict[str, Any], errors: ErrorCollector) -> None:
    for key in conf:
        if key in _V1_KEYS:
            errors.add(
                join_path("conf", key),
                "a DSL v1 field; DSL v2 confs use component_parameters (common / role)",
            )
        elif key not in _CONF_KEYS:
            errors.add(join_path("conf", key), f"unknown key; expected {', '.join(_CONF_KEYS)}")
    version = conf.get("dsl_version")
    job_parameters = conf.get("job_parameters")
    if version is None and isinstance(job_parameters, dict):
        common = job_parameters.get("common")
        version = common.get("dsl_version") if isinstance(common, dict) else None
    if version is None:
        errors.add("conf.dsl_version", 'required: fedloom runs FATE DSL v2 jobs ("dsl_version": 2)')
    elif isinstance(version, bool) or version not in (2, "2"):
        errors.add("conf.dsl_version", f"fedloom runs FATE DSL v2 jobs only, got {version!r}")


def _parse_roles(value: object, errors: ErrorCollector) -> dict[str, list[int]] | None:
    path = "conf.role"
    if value is None:
        errors.add(path, 'required: the parties of each role, e.g. {"guest": [9999]}')
        return None
    if not isinstance(value, dict):
        errors.add(path, "must be an object: role → list of party ids")
        return None
    roles: dict[str, list[int]] = {}
    for role, ids in value.items():
        role_path = join_path(path, role)
        if role not in ROLE_NAMES:
            errors.add(role_path, f"unknown role; expected one of {', '.join(ROLE_NAMES)}")
            continue
        if not isinstance(ids, list) or not ids:
            errors.add(role_path, "must be a non-empty list of party ids")
            continue
        bad = [i for i in ids if isinstance(i, bool) or not isinstance(i, int) or i < 0]
        if bad:
            errors.add(role_path, f"party ids are non-negative integers, got {bad[0]!r}")
            continue
        if len(set(ids)) != len(ids):
            errors.add(role_path, "a party id appears twice")
            continue
        roles[role] = list(ids)
    if "guest" in value and "guest" in roles and len(roles["guest"]) != 1:
        errors.add(join_path(path, "guest"), "a job has exactly one guest")
    elif "guest" not in value:
        errors.add(join_path(path, "guest"), "required: a job has exactly one guest")
    if len(roles.get("arbiter", [])) > 1:
        errors.add(join_path(path, "arbiter"), "a job has at most one arbiter")
    return {role: roles[role] for role in ROLE_NAMES if role in roles}


def _parse_initiator(
    value: object, roles: dict[str, list[int]] | None, errors: ErrorCollector
) -> Initiator | None:
    path = "conf.initiator"
    if not isinstance(value, dict):
        errors.add(path, 'required: {"role": "guest", "party_id": <id>}')
        return None
    for key in value:
        if key not in ("role", "party_id"):
            errors.add(join_path(path, key), "unknown key; expected role and party_id")
    role, party_id = value.get("role"), value.get("party_id")
    ok = True
    if role not in ROLE_NAMES:
        errors.add(join_path(path, "role"), f"expected one of {', '.join(ROLE_NAMES)}")
        ok = False
    if isinstance(party_id, bool) or not isinstance(party_id, int):
        errors.add(join_path(path, "party_id"), f"must be an integer party id, got {party_id!r}")
        ok = False
    if not ok:
        return None
    assert isinstance(role, str) and isinstance(party_id, int)
    if roles is not None and party_id not in roles.get(role, []):
        errors.add(join_path(path, "party_id"), f"party {party_id} is not a {role} in conf.role")
    return Initiator(role, party_id)


def _parse_components(
    dsl: dict[str, Any], registry: Mapping[str, ModuleSpec], errors: ErrorCollector, predict: bool
) -> dict[str, Component]:
    for key in dsl:
        if key not in _DSL_KEYS:
            errors.add(join_path("dsl", key), "unknown key; a DSL v2 job has 'components'")
    raw = dsl.get("components")
    if not isinstance(raw, dict) or not raw:
        errors.add(COMPONENTS, "required: a non-empty object of components")
        return {}
    components: dict[str, Component] = {}
    for name, body in raw.items():
        path = join_path(COMPONENTS, name)
        if not NAME.fullmatch(name):
            errors.add(path, "component names use letters, digits, '_' and '-' only")
            continue
        if not isinstance(body, dict):
            errors.add(path, "must be an object with module, input and output")
            continue
        for key in body:
            if key not in _COMPONENT_KEYS:
                errors.add(join_path(path, key), "unknown key; expected module, input, output")
        module = body.get("module")
        spec = None
        if not isinstance(module, str):
            errors.add(join_path(path, "module"), "required: the module name, e.g. 'HeteroLR'")
            module = ""
        else:
            spec = registry.get(module)
            if spec is None:
                known = ", ".join(sorted(registry))
                errors.add(join_path(path, "module"), f"unknown module {module!r}; known: {known}")
        outputs = parse_outputs(body.get("output"), spec, join_path(path, "output"), errors)
        components[name] = Component(name, module, spec, body.get("input"), outputs)
    for comp in components.values():
        comp.inputs = parse_inputs(comp, components, errors, predict)
    return components


def _topological_order(components: dict[str, Component], errors: ErrorCollector) -> list[str]:
    """Kahn's algorithm, taking ready components in DSL order; a cycle is reported once."""
    pending = {
        name: {ref.component for ref in c.inputs if not ref.deployed}
        for name, c in components.items()
    }
    order: list[str] = []
    while True:
        ready = [name for name, deps in pending.items() if not deps]
        if not ready:
            break
        for name in ready:
            order.append(name)
            del pending[name]
        for deps in pending.values():
            deps.difference_update(ready)
    if pending:
        errors.add(COMPONENTS, f"the components form a cycle: {_cycle(pending)}")
        order.extend(pending)
    return order


def _cycle(pending: dict[str, set[str]]) -> str:
    start = next(iter(pending))
    path = [start]
    while True:
        successor = sorted(pending[path[-1]])[0]
        if successor in path:
            loop = [*path[path.index(successor) :], successor]
            return " -> ".join(reversed(loop))
        path.append(successor)


def _parse_params(
    section: object,
    roles: dict[str, list[int]],
    components: dict[str, Component],
    errors: ErrorCollector,
) -> dict[TaskKey, dict[str, Any]]:
    specs = {name: comp.spec for name, comp in components.items()}
    sources = component_sources(section, roles, specs, errors)
    params: dict[TaskKey, dict[str, Any]] = {}
    for (name, role, index), task_sources in sources.items():
        spec = specs[name]
        assert spec is not None
        default = join_path("conf.component_parameters.role", role, index, name)
        value = validate_params(spec.params_model(role), task_sources, default, errors)
        if value is not None:
            params[(name, role, index)] = value
    for name, spec in specs.items():
        if spec is not None:
            mine = {key: value for key, value in params.items() if key[0] == name}
            check_consistent(spec.consistent_params, mine, sources, errors)
    return params
