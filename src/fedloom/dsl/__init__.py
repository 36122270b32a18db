"""FATE DSL v2 jobs: validate a ``dsl`` + runtime ``conf`` pair and plan the job's tasks.

``parse_job(dsl, conf)`` returns a :class:`JobPlan` (parties, components in DAG order with
resolved inputs, the merged and validated parameters of every task) or raises a
:class:`DslError` whose ``errors`` name every offending field by its path.
"""

from fedloom.dsl.errors import DslError
from fedloom.dsl.job_parameters import JobParameters
from fedloom.dsl.parser import load_json, parse_job
from fedloom.dsl.plan import (
    DEFAULT_TIMEOUT_S,
    ComponentPlan,
    Initiator,
    InputRef,
    JobPlan,
    TaskKey,
)
from fedloom.dsl.spec import DATA_SLOTS, MODEL_SLOTS, OUTPUT_KINDS, ModuleSpec, Registry

__all__ = [
    "DATA_SLOTS",
    "DEFAULT_TIMEOUT_S",
    "MODEL_SLOTS",
    "OUTPUT_KINDS",
    "ComponentPlan",
    "DslError",
    "Initiator",
    "InputRef",
    "JobParameters",
    "JobPlan",
    "ModuleSpec",
    "Registry",
    "TaskKey",
    "load_json",
    "parse_job",
]
