"""The modules fedloom runs, and ``run_task``: one component, one role, one party."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fedloom.components.base import (
    ComponentDef,
    ComponentError,
    InputArtifact,
    Runner,
    TaskCall,
    TaskHooks,
    TaskResult,
)
from fedloom.components.data_transform import DataTransformParam, run_data_transform
from fedloom.components.evaluation import EvaluateParam, run_evaluation
from fedloom.components.hetero_lr import run_hetero_lr
from fedloom.components.hetero_lr_param import HeteroLogisticParam
from fedloom.components.intersection import IntersectionParam, run_intersection
from fedloom.components.reader import ReaderParam, run_reader
from fedloom.federation import Context

_PARTIES = ("guest", "host")
_ALL = ("guest", "host", "arbiter")


def _same(runner: Runner, roles: tuple[str, ...]) -> dict[str, Runner]:
    return {role: runner for role in roles}


REGISTRY: Mapping[str, ComponentDef] = {
    d.module: d
    for d in (
        ComponentDef(
            module="Reader",
            roles=_PARTIES,
            required_roles=("guest",),
            param_model=ReaderParam,
            runners=_same(run_reader, _PARTIES),
            outputs=frozenset({"data"}),
        ),
        ComponentDef(
            module="DataTransform",
            roles=_PARTIES,
            required_roles=("guest",),
            param_model=DataTransformParam,
            runners=_same(run_data_transform, _PARTIES),
            data_inputs={"data": (1, 1)},
            outputs=frozenset({"data", "model"}),
        ),
        ComponentDef(
            module="Intersection",
            roles=_PARTIES,
            required_roles=("guest", "host"),
            param_model=IntersectionParam,
            runners=_same(run_intersection, _PARTIES),
            data_inputs={"data": (1, 1)},
            outputs=frozenset({"data"}),
            consistent_params=("intersect_method", "sync_intersect_ids"),
        ),
        ComponentDef(
            module="HeteroLR",
            roles=_ALL,
            required_roles=_ALL,
            param_model=HeteroLogisticParam,
            runners=_same(run_hetero_lr, _ALL),
            data_inputs={"train_data": (1, 1)},
            outputs=frozenset({"data", "model"}),
            # The backend is each party's own choice: keys and ciphertexts are the same on the
            # wire whichever library computes them.
            consistent_params=(
                "max_iter",
                "early_stop",
                "tol",
                "encrypt_param.method",
                "encrypt_param.key_length",
            ),
        ),
        ComponentDef(
            module="Evaluation",
            roles=_ALL,
            required_roles=("guest",),
            param_model=EvaluateParam,
            runners=_same(run_evaluation, _ALL),
            data_inputs={"data": (1, 16)},
        ),
    )
}
"""Module name → definition, for every module fedloom runs."""


def get_component(module: str) -> ComponentDef:
    """The definition of ``module``; ComponentError naming the known modules otherwise."""
    try:
        return REGISTRY[module]
    except KeyError:
        raise ComponentError(
            f"unknown module {module!r}; fedloom runs {', '.join(sorted(REGISTRY))}"
        ) from None


def run_task(
    module: str,
    role: str,
    party_id: int,
    ctx: Context,
    params: dict[str, Any],
    inputs: Mapping[str, InputArtifact],
    output_dir: str | Path,
    *,
    hooks: TaskHooks | None = None,
) -> TaskResult:
    """Run one component at one party in one role; outputs are written under ``output_dir``.

    ``ctx`` is the task's federation context, already scoped to the component
    (``ctx.sub(component_name)``) so that two components never share a message tag; its key
    policy (``Serde``'s ``KeyRing``) is the caller's. ``params`` is the merged parameter dict
    (``JobPlan.params_for``); ``inputs`` maps input keys (``JobPlan`` ``input_keys``: ``data``,
    ``train_data``, ``data_1``..., and ``table`` for a Reader) to artifacts. Upstream outputs a
    role does not produce (a host's predictions) are simply absent. A component has one data
    output, returned under the key ``data``, whatever name the DSL declares for it.
    """
    definition = get_component(module)
    if role not in definition.roles:
        raise ComponentError(f"{module} does not run at the {role}")
    if ctx.role != role or ctx.party_id != party_id:
        raise ComponentError(f"the context is {ctx.local}'s, but the task is {role} {party_id}'s")
    try:
        param = definition.params_model(role).model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(parameters)'}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ComponentError(f"invalid {module} parameters: {problems}") from None
    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    call = TaskCall(
        module, role, party_id, ctx, param, dict(inputs), directory, hooks or TaskHooks()
    )
    return definition.runners[role](call)
