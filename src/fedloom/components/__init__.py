"""FATE DSL modules fedloom runs: typed parameters and one runner per role.

``run_task(module, role, party_id, ctx, params, inputs, output_dir)`` runs one task;
``REGISTRY`` describes each module (roles, parameter model, inputs, outputs) for the DSL
parser. Artifacts are files: see :mod:`fedloom.components.io`.
"""

from fedloom.components.base import (
    ComponentDef,
    ComponentError,
    FateParam,
    InputArtifact,
    TaskCall,
    TaskHooks,
    TaskResult,
)
from fedloom.components.data_transform_param import DataTransformParam
from fedloom.components.evaluation import EvaluateParam
from fedloom.components.hetero_lr_param import HeteroLogisticParam
from fedloom.components.intersection import IntersectionParam
from fedloom.components.io import (
    load_model,
    load_table,
    load_table_with_meta,
    save_model,
    save_table,
)
from fedloom.components.reader import ReaderParam, read_csv_table
from fedloom.components.registry import REGISTRY, get_component, run_task

__all__ = [
    "REGISTRY",
    "ComponentDef",
    "ComponentError",
    "DataTransformParam",
    "EvaluateParam",
    "FateParam",
    "HeteroLogisticParam",
    "InputArtifact",
    "IntersectionParam",
    "ReaderParam",
    "TaskCall",
    "TaskHooks",
    "TaskResult",
    "get_component",
    "load_model",
    "load_table",
    "load_table_with_meta",
    "read_csv_table",
    "run_task",
    "save_model",
    "save_table",
]
