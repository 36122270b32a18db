"""Deployed models: FATE's model ids, the inference DSL built from a train DSL, predict confs.

- :func:`model_id_of` names a job's model as FATE-Flow does: ``arbiter-10000#guest-9999#host-
  10000#model`` (roles sorted, each with its sorted party ids); the model version is the train
  job's id, and each deploy makes a child version.
- :func:`build_inference_dsl` is FATE's ``deploy_component``: the chosen components of the
  train DSL, in order, each reading ``test_data`` where it trained on ``train_data`` (validate
  data dropped), and its own trained model as ``pipeline.<component>.model``.
- :func:`check_inference_dsl` checks a predict DSL a user wrote instead.
- :func:`merge_predict_conf` lays a predict conf over the train conf as FATE merges them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from fedloom.dsl.errors import DslError, ErrorCollector, join_path
from fedloom.dsl.parameters import deep_merge
from fedloom.dsl.spec import PIPELINE, ModuleSpec

_DROPPED_SLOTS = frozenset({"validate_data"})
"""Train-time data inputs a deployed component does not read."""


def model_id_of(roles: Mapping[str, Iterable[int]]) -> str:
    """FATE-Flow's model id of a job whose parties are ``roles``."""
    parts = [
        f"{role}-{'_'.join(str(p) for p in sorted(set(roles[role])))}" for role in sorted(roles)
    ]
    return "#".join([*parts, "model"])


def build_inference_dsl(
    train_dsl: Mapping[str, Any],
    registry: Mapping[str, ModuleSpec],
    cpn_list: list[str] | None = None,
) -> dict[str, Any]:
    """The predict DSL of ``train_dsl``'s components ``cpn_list`` (default: every component
    whose module and DSL entry do not opt out of deployment). DslError at ``cpn_list`` when a
    component is unknown or reads data from one that is not deployed."""
    components: Mapping[str, Any] = train_dsl.get("components") or {}
    errors = ErrorCollector()
    if cpn_list is None:
        chosen = [name for name, body in components.items() if _deploys(body, registry)]
        read = {
            str(ref).split(".", 1)[0]
            for name in chosen
            for refs in ((components[name].get("input") or {}).get("data") or {}).values()
            for ref in refs
        }
        # A source (no inputs) that only fed components left out would read a table for nothing.
        chosen = [n for n in chosen if components[n].get("input") or n in read]
    else:
        if not cpn_list:
            errors.add("cpn_list", "must name at least one component")
        for i, name in enumerate(cpn_list):
            if name not in components:
                errors.add(join_path("cpn_list", i), f"the train job has no component {name!r}")
        errors.raise_if_any()
        wanted = set(cpn_list)
        chosen = [name for name in components if name in wanted]
    result: dict[str, Any] = {}
    for name in chosen:
        body = components[name]
        spec = registry.get(str(body.get("module")))
        inputs: dict[str, Any] = {}
        data: dict[str, list[str]] = {}
        for slot, refs in ((body.get("input") or {}).get("data") or {}).items():
            if slot in _DROPPED_SLOTS:
                continue
            for ref in refs:
                upstream = str(ref).split(".", 1)[0]
                if upstream not in chosen:
                    errors.add(
                        "cpn_list",
                        f"{name} reads {ref}, but {upstream} is not deployed; add it to cpn_list",
                    )
            data.setdefault("test_data" if slot == "train_data" else slot, []).extend(refs)
        if data:
            inputs["data"] = data
        outputs = body.get("output") or {}
        if outputs.get("model") and (spec is None or "model" in spec.outputs):
            inputs["model"] = [f"{PIPELINE}.{name}.model"]
        entry: dict[str, Any] = {"module": body.get("module")}
        if inputs:
            entry["input"] = inputs
        if outputs.get("data"):
            entry["output"] = {"data": list(outputs["data"])}
        result[name] = entry
    errors.raise_if_any()
    if not result:
        raise DslError("cpn_list", "no component of the train job is deployable")
    return {"components": result}


def check_inference_dsl(predict_dsl: object, trained: Mapping[str, str]) -> dict[str, Any]:
    """A user's predict DSL, checked against the trained components (name → module): every
    ``pipeline.<name>.model`` must name a trained component of the same module."""
    errors = ErrorCollector()
    if not isinstance(predict_dsl, dict) or not isinstance(predict_dsl.get("components"), dict):
        raise DslError("predict_dsl", 'must be a DSL object: {"components": {...}}')
    for name, body in predict_dsl["components"].items():
        if not isinstance(body, dict):
            continue  # the job parser names it when a predict job runs
        for key in ("model", "isometric_model"):
            for i, ref in enumerate((body.get("input") or {}).get(key) or []):
                path = join_path("predict_dsl.components", name, "input", key, i)
                parts = str(ref).split(".")
                if parts[0] != PIPELINE:
                    continue
                if len(parts) != 3 or parts[1] not in trained:
                    errors.add(path, f"{ref!r} names no trained component of the model")
                elif trained[parts[1]] != body.get("module"):
                    errors.add(
                        path,
                        f"{parts[1]} was trained as {trained[parts[1]]}, not {body.get('module')}",
                    )
    errors.raise_if_any()
    return copy.deepcopy(predict_dsl)


def merge_predict_conf(
    train_conf: Mapping[str, Any], predict_conf: Mapping[str, Any], components: Iterable[str]
) -> dict[str, Any]:
    """The conf a predict job runs with: the train conf's parameters of the deployed
    ``components`` with the predict conf's laid over them (its Reader tables, thresholds...),
    the predict conf's initiator, roles and job parameters. DslError when its parties differ
    from the model's."""
    trained_roles = _roles(train_conf.get("role"))
    roles = _roles(predict_conf.get("role"))
    if roles != trained_roles:
        raise DslError(
            "conf.role",
            f"a predict job runs at the parties the model was trained at: {trained_roles}",
        )
    merged = {
        key: copy.deepcopy(value)
        for key, value in predict_conf.items()
        if key != "component_parameters"
    }
    merged["component_parameters"] = deep_merge(
        _only(train_conf.get("component_parameters"), set(components)),
        dict(predict_conf.get("component_parameters") or {}),
    )
    return merged


def _only(params: object, components: set[str]) -> dict[str, Any]:
    """``component_parameters`` (common / role / index) restricted to ``components``."""
    if not isinstance(params, dict):
        return {}
    out: dict[str, Any] = {}
    common = params.get("common")
    if isinstance(common, dict):
        out["common"] = {k: copy.deepcopy(v) for k, v in common.items() if k in components}
    by_role = params.get("role")
    if isinstance(by_role, dict):
        out["role"] = {
            role: {
                index: {k: copy.deepcopy(v) for k, v in values.items() if k in components}
                for index, values in indices.items()
                if isinstance(values, dict)
            }
            for role, indices in by_role.items()
            if isinstance(indices, dict)
        }
    return out


def _deploys(body: Any, registry: Mapping[str, ModuleSpec]) -> bool:
    if not isinstance(body, dict) or body.get("need_deploy") is False:
        return False
    spec = registry.get(str(body.get("module")))
    return spec is None or spec.need_deploy


def _roles(value: object) -> dict[str, list[int]]:
    if not isinstance(value, dict):
        return {}
    return {str(role): list(ids) for role, ids in value.items() if isinstance(ids, list)}
