"""Predict jobs at this party: the deployed model's inference DSL and the merged conf.

A predict job is submitted as a conf only (``job_parameters.common``: ``job_type: predict``,
``model_id``, ``model_version``). Every party resolves it against its own registry: the job
runs the inference DSL stored with the deployed version, with the train conf's component
parameters under the predict conf's (FATE's merge). A party that does not hold the deployed
version refuses the job.
"""

from __future__ import annotations

from typing import Any

from fedloom.dsl import DslError
from fedloom.dsl.deploy import merge_predict_conf
from fedloom.dsl.job_parameters import job_type_of
from services.flow.modelstore import ModelStore
from services.flow.planning import PlanError, PlannedJob, Planner

_COMMON = "conf.job_parameters.common"


def predict_model(conf: dict[str, Any]) -> tuple[str, str] | None:
    """``(model_id, model_version)`` when ``conf`` is a predict conf, else None."""
    common = (conf.get("job_parameters") or {}).get("common")
    if not isinstance(common, dict) or job_type_of(common) != "predict":
        return None
    values = {name: common.get(name) for name in ("model_id", "model_version")}
    missing = [name for name, value in values.items() if not isinstance(value, str) or not value]
    if missing:
        raise PlanError(
            (
                f"{_COMMON}.{name}",
                "required: a predict job names the deployed model (model_id "
                "and model_version, as POST /api/v1/models/deploy returned them)",
            )
            for name in missing
        )
    return str(values["model_id"]), str(values["model_version"])


class PredictPlanner:
    """A :class:`Planner` that resolves predict confs through this party's registry before
    handing the job to ``base``; train jobs go to ``base`` unchanged."""

    def __init__(self, base: Planner, models: ModelStore, party_id: int) -> None:
        self.base = base
        self.models = models
        self.party_id = party_id

    def __call__(self, dsl: dict[str, Any], conf: dict[str, Any]) -> PlannedJob:
        """Plan one job."""
        if not isinstance(conf, dict):
            return self.base(dsl, conf)
        key = predict_model(conf)
        if key is None:
            return self.base(dsl, conf)
        if dsl and dsl != {"components": {}}:
            raise PlanError(
                [("dsl", "a predict job runs the deployed model's inference DSL; submit no dsl")]
            )
        model = self.models.get(*key)
        if model is None:
            raise PlanError(
                [
                    (
                        f"{_COMMON}.model_version",
                        f"party {self.party_id} has no model {key[0]} version {key[1]}",
                    )
                ]
            )
        if model.inference_dsl is None:
            raise PlanError(
                [
                    (
                        f"{_COMMON}.model_version",
                        f"model {key[0]} version {key[1]} is not deployed: deploy it "
                        "(POST /api/v1/models/deploy) and use the version that returns",
                    )
                ]
            )
        try:
            components = (model.inference_dsl.get("components") or {}).keys()
            merged = merge_predict_conf(model.train_conf, conf, components)
        except DslError as exc:
            raise PlanError(exc.errors) from None
        return self.base(model.inference_dsl, merged)
