"""``POST /api/v1/models/deploy``: make a deployed child of a model at every party of it.

As FATE-Flow's deploy: the inference DSL is built from the train DSL (or given as
``predict_dsl`` and checked against the trained components), a new model version is made, and
every party of the model stores the child with the same DSL (``deploy_model`` control messages
through the proxies). This party stores its child last, after every other party accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedloom.components import REGISTRY
from fedloom.dsl import DslError
from fedloom.dsl.deploy import build_inference_dsl, check_inference_dsl
from services.common.contracts import ControlRequest
from services.flow.control import Dispatcher
from services.flow.modelstore import ModelError, ModelStore
from services.flow.submit import field_error, new_job_id


class DeployError(Exception):
    """The deploy failed: HTTP ``status_code`` with a JSON ``detail``."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class Deployed:
    """The child version made by a deploy, at every party."""

    model_id: str
    model_version: str
    parent_version: str
    inference_dsl: dict[str, Any]


class ModelDeployer:
    """Deploys models this party holds, at every party of the model."""

    def __init__(self, party_id: int, models: ModelStore, dispatcher: Dispatcher) -> None:
        self.party_id = party_id
        self.models = models
        self.dispatcher = dispatcher

    def deploy(
        self,
        model_id: str,
        model_version: str,
        cpn_list: list[str] | None = None,
        predict_dsl: dict[str, Any] | None = None,
    ) -> Deployed:
        """Deploy ``model_id``/``model_version``; DeployError (404, 422, 409, 502) otherwise."""
        parent = self.models.get(model_id, model_version)
        if parent is None:
            raise DeployError(
                404, f"party {self.party_id} has no model {model_id} version {model_version}"
            )
        if cpn_list is not None and predict_dsl is not None:
            raise DeployError(422, _error("predict_dsl", "give cpn_list or predict_dsl, not both"))
        try:
            if predict_dsl is not None:
                dsl = check_inference_dsl(predict_dsl, parent.modules)
            else:
                dsl = build_inference_dsl(parent.train_dsl, REGISTRY, cpn_list)
        except DslError as exc:
            raise DeployError(422, [_error(p, m) for p, m in exc.errors]) from None
        child = new_job_id()
        parties = sorted({int(p) for ids in parent.roles.values() for p in ids})
        for party in parties:
            if party == self.party_id:
                continue
            request = ControlRequest(
                src_party_id=self.party_id,
                dst_party_id=party,
                kind="deploy_model",
                body={
                    "model_id": model_id,
                    "model_version": model_version,
                    "child_version": child,
                    "inference_dsl": dsl,
                },
            )
            try:
                reply = self.dispatcher.send(request)
            except Exception as exc:
                raise DeployError(502, f"party {party} unreachable: {exc}") from None
            if not reply.ok:
                raise DeployError(409, f"party {party} refused the deploy: {reply.error}")
        try:
            self.models.add_child(parent, child, dsl)
        except ModelError as exc:
            raise DeployError(409, str(exc)) from None
        return Deployed(model_id, child, model_version, dsl)


def _error(path: str, message: str) -> dict[str, Any]:
    return field_error(path, message, "deploy_error")
