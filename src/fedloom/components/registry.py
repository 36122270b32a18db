"""The modules fedloom runs, and ``run_task``: one component, one role, one party.

Each module declares itself (roles, inputs, outputs, parameter model, runners) in its own file;
this module only collects the declarations.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fedloom.components.base import (
    ComponentDef,
    ComponentError,
    InputArtifact,
    TaskCall,
    TaskHooks,
    TaskResult,
)
from fedloom.components.column_expand import COLUMN_EXPAND
from fedloom.components.data_statistics import DATA_STATISTICS
from fedloom.components.data_transform import DATA_TRANSFORM
from fedloom.components.evaluation import EVALUATION
from fedloom.components.feature_imputation import FEATURE_IMPUTATION
from fedloom.components.feature_scale import FEATURE_SCALE
from fedloom.components.federated_sample import FEDERATED_SAMPLE
from fedloom.components.hetero_data_split import HETERO_DATA_SPLIT
from fedloom.components.hetero_feature_binning import HETERO_FEATURE_BINNING
from fedloom.components.hetero_feature_selection import HETERO_FEATURE_SELECTION
from fedloom.components.hetero_linr import HETERO_LINR
from fedloom.components.hetero_lr import HETERO_LR
from fedloom.components.hetero_pearson import HETERO_PEARSON
from fedloom.components.hetero_poisson import HETERO_POISSON
from fedloom.components.intersection import INTERSECTION
from fedloom.components.label_transform import LABEL_TRANSFORM
from fedloom.components.one_hot_encoder import ONE_HOT_ENCODER
from fedloom.components.psi import PSI
from fedloom.components.reader import READER
from fedloom.components.sample_weight import SAMPLE_WEIGHT
from fedloom.components.scorecard import SCORECARD
from fedloom.components.union import UNION
from fedloom.federation import Context

DECLARATIONS: tuple[ComponentDef, ...] = (
    READER,
    COLUMN_EXPAND,
    DATA_TRANSFORM,
    INTERSECTION,
    HETERO_DATA_SPLIT,
    UNION,
    FEDERATED_SAMPLE,
    SAMPLE_WEIGHT,
    HETERO_FEATURE_BINNING,
    DATA_STATISTICS,
    HETERO_PEARSON,
    HETERO_FEATURE_SELECTION,
    FEATURE_IMPUTATION,
    FEATURE_SCALE,
    ONE_HOT_ENCODER,
    LABEL_TRANSFORM,
    HETERO_LR,
    HETERO_LINR,
    HETERO_POISSON,
    SCORECARD,
    PSI,
    EVALUATION,
)
"""Every module fedloom runs, in the order they are listed to users."""

REGISTRY: Mapping[str, ComponentDef] = {
    name: d for d in DECLARATIONS for name in (d.module, *d.aliases)
}
"""Module name (or an older FATE name of it) → declaration."""


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
