"""The shapes shared by every component: artifacts, results, parameter models, definitions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from fedloom.federation import Context
from fedloom.ml.hetero_lr import KeyGen

ArtifactKind = Literal["table", "data", "model", "cache"]


class ComponentError(ValueError):
    """A task cannot run on what it was given; the message names the field, row or column."""


@dataclass(frozen=True)
class InputArtifact:
    """A file a task reads: an uploaded ``table`` (CSV + upload options in ``meta``), a
    ``data`` table written by a component (``fedloom.components.io``), a ``model`` JSON or a
    ``cache`` file (an Intersection cache, read only by the component that wrote it)."""

    kind: str
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskResult:
    """What a task produced: data tables by output name, a model file, a cache file, JSON-safe
    metrics."""

    data: dict[str, Path] = field(default_factory=dict)
    model: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    cache: Path | None = None


@dataclass(frozen=True)
class TaskHooks:
    """In-process overrides for tests and benchmarks; never part of a job's parameters.

    ``keygen`` replaces the arbiter's Paillier key generation (e.g. with the plaintext
    stand-in); peers still refuse such keys unless their ``KeyRing`` allows them.
    """

    keygen: KeyGen | None = None


@dataclass(frozen=True)
class TaskCall:
    """Everything one role's runner gets."""

    module: str
    role: str
    party_id: int
    ctx: Context
    params: BaseModel
    inputs: dict[str, InputArtifact]
    output_dir: Path
    hooks: TaskHooks

    def input(self, key: str, kind: str, why: str) -> InputArtifact:
        """The input ``key`` (of ``kind``), or a ComponentError saying why it is needed."""
        artifact = self.inputs.get(key)
        if artifact is None:
            have = ", ".join(sorted(self.inputs)) or "none"
            raise ComponentError(
                f"{self.module} at the {self.role} needs input {key!r} ({why}); got: {have}"
            )
        if artifact.kind != kind:
            raise ComponentError(
                f"{self.module} input {key!r} must be a {kind} artifact, got {artifact.kind!r}"
            )
        return artifact


Runner = Callable[[TaskCall], TaskResult]


@dataclass(frozen=True)
class ComponentDef:
    """One DSL module: where it runs, its parameters, its inputs and outputs, its runners.

    Satisfies ``fedloom.dsl.ModuleSpec``; ``data_inputs`` / ``model_inputs`` map FATE input
    slots to the (fewest, most) references accepted; ``cache_inputs`` likewise for
    ``input.cache`` (key ``cache``). ``need_deploy`` says whether deploying a model includes
    the module when no component list is given (FATE's default: every module but Evaluation).
    """

    module: str
    roles: tuple[str, ...]
    required_roles: tuple[str, ...]
    param_model: type[BaseModel]
    runners: Mapping[str, Runner]
    data_inputs: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    model_inputs: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    cache_inputs: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    outputs: frozenset[str] = frozenset()
    consistent_params: tuple[str, ...] = ()
    need_deploy: bool = True
    aliases: tuple[str, ...] = ()
    """Older FATE names of the module that job files may still use (``DataIO``)."""
    data_output_names: tuple[str, ...] = ("data",)
    """The keys of the module's data outputs in ``TaskResult.data``, in order. The DSL may
    name them otherwise (``"output": {"data": ["train"]}``): its names map to these by
    position. Most modules have one; HeteroDataSplit has train, validate and test."""

    def params_model(self, role: str) -> type[BaseModel]:
        """The model validating this module's merged parameters at ``role``."""
        if role not in self.roles:
            raise ValueError(f"{self.module} does not run at the {role}")
        return self.param_model


def same_runner(runner: Runner, roles: tuple[str, ...]) -> dict[str, Runner]:
    """``runner`` at each of ``roles`` (a component whose roles share one entry point)."""
    return {role: runner for role in roles}


PARTIES: tuple[str, ...] = ("guest", "host")
"""The data-holding roles."""
ALL_ROLES: tuple[str, ...] = ("guest", "host", "arbiter")
"""Every role of a job."""


def lower(value: object) -> object:
    """Lower-case strings (FATE compares most option values case-insensitively)."""
    return value.lower() if isinstance(value, str) else value


class FateParam(BaseModel):
    """Base of the FATE-named parameter models: strict types, unknown names refused.

    ``only_default`` lists FATE options fedloom accepts at their FATE default value only, with
    the reason; any other value is refused with that reason instead of being ignored.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    only_default: ClassVar[Mapping[str, str]] = {}

    @field_validator("*", mode="after")
    @classmethod
    def _only_default(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        reason = cls.only_default.get(name)
        if reason is not None:
            default = cls.model_fields[name].get_default(call_default_factory=True)
            if value != default:
                raise ValueError(f"fedloom accepts only {_show(default)} here: {reason}")
        return value


def supported(value: str, allowed: tuple[str, ...], unsupported: Mapping[str, str]) -> str:
    """``value`` if fedloom implements it; a clear error for FATE options it does not."""
    choices = ", ".join(repr(a) for a in allowed)
    if value in unsupported:
        raise ValueError(
            f"{value!r} is not supported by fedloom ({unsupported[value]}); use {choices}"
        )
    if value not in allowed:
        raise ValueError(f"expected one of {choices}, got {value!r}")
    return value


def _show(value: Any) -> str:
    return "the default" if isinstance(value, BaseModel) else repr(value)
