"""``conf.job_parameters``: FATE's job settings (``common`` and per ``role``), validated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from fedloom.dsl.errors import ErrorCollector, join_path
from fedloom.dsl.parameters import clean_loc, deep_merge, error_message, index_key, json_object
from fedloom.dsl.plan import DEFAULT_TIMEOUT_S


class JobParameters(BaseModel):
    """FATE's job parameters (fate_flow ``RunParameters``); unknown names are refused.

    fedloom uses ``job_type`` and ``timeout``; resource hints (``task_cores``,
    ``task_parallelism``, ``computing_partitions``, retries) are kept for the scheduler; FATE's
    engine and deployment settings (``computing_engine``, ``eggroll_run``, ``work_mode``...)
    describe a FATE cluster and are accepted but have no effect here.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    job_type: str = "train"
    dsl_version: int | None = None
    timeout: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    task_parallelism: int | None = Field(default=None, ge=1)
    computing_partitions: int | None = Field(default=None, ge=1)
    task_cores: int | None = Field(default=None, ge=1)
    auto_retries: int | None = Field(default=None, ge=0)
    auto_retry_delay: int | None = Field(default=None, ge=0)
    model_id: str | None = None
    model_version: str | None = None
    inheritance_info: dict[str, Any] | None = None
    computing_engine: str | None = None
    federation_engine: str | None = None
    storage_engine: str | None = None
    federated_mode: str | None = None
    federated_status_collect_type: str | None = None
    federated_data_exchange_type: str | None = None
    assistant_role: str | None = None
    map_table_name: str | None = None
    map_namespace: str | None = None
    work_mode: int | None = None
    backend: int | None = None
    engines_address: dict[str, Any] | None = None
    federation_info: dict[str, Any] | None = None
    eggroll_run: dict[str, Any] | None = None
    spark_run: dict[str, Any] | None = None
    rabbitmq_run: dict[str, Any] | None = None
    pulsar_run: dict[str, Any] | None = None
    adaptation_parameters: dict[str, Any] | None = None
    task_conf: dict[str, Any] | None = None

    @field_validator("job_type")
    @classmethod
    def _job_type(cls, value: str) -> str:
        if value.lower() not in ("train", "predict"):
            raise ValueError(f"job_type is 'train' or 'predict', got {value!r}")
        return value.lower()

    @field_validator("dsl_version")
    @classmethod
    def _v2(cls, value: int | None) -> int | None:
        if value is not None and value != 2:
            raise ValueError("fedloom runs FATE DSL v2 jobs only (dsl_version 2)")
        return value

    @field_validator("inheritance_info")
    @classmethod
    def _no_inheritance(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value:
            raise ValueError("job inheritance (reusing another job's outputs) is not supported")
        return value


def job_type_of(common: object) -> str:
    """A conf's job type from its ``job_parameters.common``: the ``job_type`` it sets, else
    ``predict`` when it names a model (``model_id`` and ``model_version``, as fate_test's
    predict confs do), else ``train``."""
    if not isinstance(common, Mapping):
        return "train"
    given = common.get("job_type")
    if isinstance(given, str):
        return given.lower()
    if common.get("model_id") and common.get("model_version"):
        return "predict"
    return "train"


def parse_job_parameters(
    section: object, roles: Mapping[str, list[int]], errors: ErrorCollector
) -> tuple[dict[str, Any], dict[tuple[str, int], dict[str, Any]]]:
    """Validate ``conf.job_parameters``: (common, {(role, index): role-specific})."""
    base = "conf.job_parameters"
    parts = json_object(section, base, errors)
    for key in parts:
        if key not in ("common", "role"):
            errors.add(join_path(base, key), "DSL v2 job parameters go under 'common' or 'role'")
    common = _job_params(parts.get("common"), join_path(base, "common"), errors)
    common["job_type"] = job_type_of(common)
    if common["job_type"] == "predict":
        for name in ("model_id", "model_version"):
            if not common.get(name):
                errors.add(
                    join_path(base, "common", name),
                    "required: a predict job runs the deployed model named by model_id and "
                    "model_version (as POST /api/v1/models/deploy returned them)",
                )
    common.setdefault("timeout", DEFAULT_TIMEOUT_S)
    per_role: dict[tuple[str, int], dict[str, Any]] = {}
    for role, by_index in json_object(parts.get("role"), join_path(base, "role"), errors).items():
        role_path = join_path(base, "role", role)
        if role not in roles:
            errors.add(role_path, f"role {role!r} is not in conf.role")
            continue
        for key, values in json_object(by_index, role_path, errors).items():
            selected = index_key(key, len(roles[role]))
            if isinstance(selected, str):
                errors.add(join_path(role_path, key), selected)
                continue
            checked = _job_params(values, join_path(role_path, key), errors)
            for index in selected:
                per_role[(role, index)] = deep_merge(per_role.get((role, index), {}), checked)
    return common, per_role


def _job_params(values: object, path: str, errors: ErrorCollector) -> dict[str, Any]:
    given = json_object(values, path, errors)
    try:
        parsed = JobParameters.model_validate(given)
    except ValidationError as exc:
        for err in exc.errors():
            errors.add(join_path(path, *clean_loc(given, err["loc"])), error_message(err))
        return {}
    return parsed.model_dump(mode="json", exclude_unset=True)
