"""What the DSL parser needs to know about a module, and FATE's names of inputs and outputs.

``fedloom.components`` describes every module it can run with an object of this shape; the
parser reads nothing else from it, so the DSL layer stays independent of how components run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pydantic import BaseModel

DATA_SLOTS: tuple[str, ...] = (
    "data",
    "train_data",
    "validate_data",
    "test_data",
    "eval_data",
    "expect_data",
    "actual_data",
)
"""Keys FATE allows under a component's ``input.data``."""
MODEL_SLOTS: tuple[str, ...] = ("model", "isometric_model")
"""FATE's model inputs: ``input.model`` and ``input.isometric_model``."""
CACHE_SLOTS: tuple[str, ...] = ("cache",)
"""FATE's cache input (``input.cache``, an Intersection cache)."""
OUTPUT_KINDS: tuple[str, ...] = ("data", "model", "cache")
"""Keys of a component's ``output``; each lists the names downstream inputs refer to."""
PIPELINE = "pipeline"
"""Prefix of a predict DSL's references to a deployed model: ``pipeline.<component>.model``."""
ROLE_NAMES: tuple[str, ...] = ("guest", "host", "arbiter")


class ModuleSpec(Protocol):
    """A DSL module as the parser sees it."""

    @property
    def module(self) -> str:
        """The FATE module name (``HeteroLR``)."""
        ...

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles at which the module runs (a task per party of each such role)."""
        ...

    @property
    def required_roles(self) -> tuple[str, ...]:
        """Roles ``conf.role`` must contain for the module to run at all."""
        ...

    @property
    def data_inputs(self) -> Mapping[str, tuple[int, int]]:
        """Accepted ``input.data`` slots → (fewest, most) references."""
        ...

    @property
    def model_inputs(self) -> Mapping[str, tuple[int, int]]:
        """Accepted model slots (``model``, ``isometric_model``) → (fewest, most) references."""
        ...

    @property
    def cache_inputs(self) -> Mapping[str, tuple[int, int]]:
        """Accepted ``input.cache`` slots (``cache``) → (fewest, most) references."""
        ...

    @property
    def need_deploy(self) -> bool:
        """Whether deploying a model includes this module by default (FATE's ``need_deploy``)."""
        ...

    @property
    def data_output_names(self) -> tuple[str, ...]:
        """The module's data outputs in order (one for most modules)."""
        ...

    @property
    def outputs(self) -> frozenset[str]:
        """Output kinds the module produces (``data``, ``model``)."""
        ...

    @property
    def consistent_params(self) -> tuple[str, ...]:
        """Parameters that must have the same value at every party of the job."""
        ...

    def params_model(self, role: str) -> type[BaseModel]:
        """The pydantic model that validates the merged parameters of one role."""
        ...


Registry = Mapping[str, ModuleSpec]
"""Module name → spec."""
