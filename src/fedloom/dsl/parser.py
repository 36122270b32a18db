"""``parse_job(dsl, conf)``: validate a FATE DSL v2 job and plan it.

Everything that can be checked independently is checked, and all problems are raised together
in one :class:`DslError` whose ``errors`` name each offending field by its path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fedloom.components import REGISTRY
from fedloom.dsl.errors import DslError, ErrorCollector, join_path
from fedloom.dsl.job_parameters import parse_job_parameters
from fedloom.dsl.parameters import check_consistent, component_sources, validate_params
from fedloom.dsl.plan import ComponentPlan, Initiator, InputRef, JobPlan, TaskKey
from fedloom.dsl.spec import (
    CACHE_SLOTS,
    DATA_SLOTS,
    MODEL_SLOTS,
    OUTPUT_KINDS,
    PIPELINE,
    ROLE_NAMES,
    ModuleSpec,
)

_NAME = re.compile(r"[A-Za-z0-9_\-]+")
_CONF_KEYS = ("dsl_version", "initiator", "role", "job_parameters", "component_parameters")
_V1_KEYS = ("role_parameters", "algorithm_parameters")
_COMPONENT_KEYS = ("module", "input", "output", "provider", "need_deploy", "CodePath")
_DSL_KEYS = ("components", "provider")
_COMPONENTS = "dsl.components"


@dataclass
class _Component:
    name: str
    module: str
    spec: ModuleSpec | None
    raw_inputs: object
    outputs: dict[str, list[str]]
    inputs: list[InputRef] = field(default_factory=list)


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
                        join_path(_COMPONENTS, comp.name, "module"),
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
) -> dict[str, _Component]:
    for key in dsl:
        if key not in _DSL_KEYS:
            errors.add(join_path("dsl", key), "unknown key; a DSL v2 job has 'components'")
    raw = dsl.get("components")
    if not isinstance(raw, dict) or not raw:
        errors.add(_COMPONENTS, "required: a non-empty object of components")
        return {}
    components: dict[str, _Component] = {}
    for name, body in raw.items():
        path = join_path(_COMPONENTS, name)
        if not _NAME.fullmatch(name):
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
        outputs = _parse_outputs(body.get("output"), spec, join_path(path, "output"), errors)
        components[name] = _Component(name, module, spec, body.get("input"), outputs)
    for comp in components.values():
        comp.inputs = _parse_inputs(comp, components, errors, predict)
    return components


def _parse_outputs(
    value: object, spec: ModuleSpec | None, path: str, errors: ErrorCollector
) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(path, 'must be an object such as {"data": ["data"], "model": ["model"]}')
        return {}
    outputs: dict[str, list[str]] = {}
    for kind, names in value.items():
        kind_path = join_path(path, kind)
        if kind not in OUTPUT_KINDS:
            errors.add(kind_path, f"unknown output kind; expected {' or '.join(OUTPUT_KINDS)}")
        elif not isinstance(names, list) or not all(
            isinstance(n, str) and _NAME.fullmatch(n) for n in names
        ):
            errors.add(kind_path, "must be a list of output names (letters, digits, '_', '-')")
        elif len(set(names)) != len(names):
            errors.add(kind_path, "an output name appears twice")
        elif spec is not None and len(names) > _output_count(spec, kind):
            count = _output_count(spec, kind)
            errors.add(
                kind_path,
                f"{spec.module} has {count} {kind} output{'s' if count > 1 else ''}; "
                f"declare at most {count} name{'s' if count > 1 else ''}",
            )
        else:
            outputs[kind] = list(names)
    return outputs


def _output_count(spec: ModuleSpec, kind: str) -> int:
    return len(spec.data_output_names) if kind == "data" else 1


def _parse_inputs(
    comp: _Component, components: dict[str, _Component], errors: ErrorCollector, predict: bool
) -> list[InputRef]:
    path = join_path(_COMPONENTS, comp.name, "input")
    spec, raw = comp.spec, comp.raw_inputs
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.add(path, 'must be an object such as {"data": {"data": ["reader_0.data"]}}')
        return []
    slots: list[tuple[str, Literal["data", "model", "cache"], object, str]] = []
    for key, value in raw.items():
        key_path = join_path(path, key)
        if key == "data":
            if not isinstance(value, dict):
                errors.add(key_path, 'must be an object such as {"data": ["reader_0.data"]}')
                continue
            for slot, refs in value.items():
                slot_path = join_path(key_path, slot)
                if slot not in DATA_SLOTS:
                    errors.add(slot_path, f"unknown data input; FATE's are {', '.join(DATA_SLOTS)}")
                elif spec is not None and slot not in spec.data_inputs:
                    takes = ", ".join(spec.data_inputs) or "none"
                    errors.add(slot_path, f"{spec.module} takes no data input {slot!r} ({takes})")
                else:
                    slots.append((slot, "data", refs, slot_path))
        elif key in MODEL_SLOTS:
            if spec is not None and key not in spec.model_inputs:
                errors.add(key_path, f"{spec.module} takes no {key} input (no model loading)")
            else:
                slots.append((key, "model", value, key_path))
        elif key in CACHE_SLOTS:
            if spec is not None and key not in spec.cache_inputs:
                errors.add(key_path, f"{spec.module} takes no cache input")
            else:
                slots.append((key, "cache", value, key_path))
        else:
            errors.add(
                key_path, "unknown input; FATE inputs are data, model, isometric_model and cache"
            )

    inputs: list[InputRef] = []
    counts: dict[str, int] = {}
    for slot, kind, refs, slot_path in slots:
        if not isinstance(refs, list) or not refs:
            errors.add(slot_path, 'must be a non-empty list such as ["reader_0.data"]')
            continue
        counts[slot] = len(refs)
        for i, ref in enumerate(refs):
            ref_path = slot_path if len(refs) == 1 else join_path(slot_path, i)
            resolved = _resolve(ref, slot, kind, comp, components, ref_path, errors, predict)
            if resolved is not None:
                inputs.append(resolved)
    if spec is not None:
        wanted = [("data", s, r) for s, r in spec.data_inputs.items()]
        wanted += [("", s, r) for s, r in spec.model_inputs.items()]
        wanted += [("", s, r) for s, r in spec.cache_inputs.items()]
        for group, slot, (least, most) in wanted:
            slot_path = join_path(path, group, slot)
            count = counts.get(slot, 0)
            if count < least:
                errors.add(slot_path, f"required: {spec.module} reads its input from here")
            elif count > most:
                errors.add(slot_path, f"{spec.module} takes at most {most} input(s) here")
    return inputs


def _resolve(
    ref: object,
    slot: str,
    kind: Literal["data", "model", "cache"],
    comp: _Component,
    components: dict[str, _Component],
    path: str,
    errors: ErrorCollector,
    predict: bool,
) -> InputRef | None:
    if not isinstance(ref, str) or "." not in ref:
        errors.add(path, f"expected '<component>.<output>', got {ref!r}")
        return None
    name, output = ref.split(".", 1)
    if name == PIPELINE:
        return _deployed(ref, slot, kind, path, errors, predict)
    if name == "args":
        errors.add(path, "'args.' references are DSL v1; DSL v2 reads data through a Reader")
        return None
    upstream = components.get(name)
    if upstream is None:
        errors.add(path, f"no component {name!r} in dsl.components")
        return None
    if upstream is comp:
        errors.add(path, "a component cannot read its own output")
        return None
    declared = upstream.outputs.get(kind, [])
    if output not in declared:
        errors.add(path, f"{name} declares no {kind} output {output!r} (output.{kind}: {declared})")
        return None
    if upstream.spec is not None and kind not in upstream.spec.outputs:
        errors.add(path, f"{name} ({upstream.module}) produces no {kind} output")
        return None
    return InputRef(slot, kind, name, output)


def _deployed(
    ref: str,
    slot: str,
    kind: Literal["data", "model", "cache"],
    path: str,
    errors: ErrorCollector,
    predict: bool,
) -> InputRef | None:
    """A ``pipeline.<component>.model`` reference: the deployed model of a predict job."""
    parts = ref.split(".")
    if not predict:
        errors.add(path, "'pipeline.' references name a deployed model; only predict jobs have one")
    elif kind != "model" or len(parts) != 3 or parts[2] != "model" or not _NAME.fullmatch(parts[1]):
        errors.add(path, f"expected 'pipeline.<component>.model' in a model input, got {ref!r}")
    else:
        return InputRef(slot, "model", f"{PIPELINE}.{parts[1]}", "model")
    return None


def _topological_order(components: dict[str, _Component], errors: ErrorCollector) -> list[str]:
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
        errors.add(_COMPONENTS, f"the components form a cycle: {_cycle(pending)}")
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
    components: dict[str, _Component],
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
