"""``/api/v1/models``: the model registry of this party, deploy, export and import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, UploadFile
from fastapi.responses import Response

from services.flow.api.deps import Authorized, Runtime
from services.flow.api.schemas import DeployRequest, DeployResult, ModelView
from services.flow.deploy import DeployError
from services.flow.modelstore import MAX_IMPORT_BYTES, ModelError

router = APIRouter(prefix="/api/v1/models", tags=["models"], dependencies=Authorized)


@router.get("")
def list_models(
    runtime: Runtime,
    model_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> list[ModelView]:
    """This party's models (trained, deployed, imported), newest first."""
    return [ModelView.of(m) for m in runtime.models.models(model_id, limit, offset)]


@router.get("/detail")
def get_model(model_id: str, model_version: str, runtime: Runtime) -> ModelView:
    """One model of this party's registry."""
    model = runtime.models.get(model_id, model_version)
    if model is None:
        raise HTTPException(404, f"no model {model_id} version {model_version} here")
    return ModelView.of(model)


@router.post("/deploy")
def deploy_model(body: DeployRequest, runtime: Runtime) -> DeployResult:
    """Deploy a model at every party of it (FATE-Flow's ``model deploy``): a new child version
    holding the inference DSL, built from ``cpn_list`` (default: every deployable component)
    or given as ``predict_dsl``. 404 unknown model; 422 bad components; 409 / 502 name the
    party that refused / could not be reached."""
    try:
        done = runtime.deployer.deploy(
            body.model_id, body.model_version, body.cpn_list, body.predict_dsl
        )
    except DeployError as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    return DeployResult(
        model_id=done.model_id,
        model_version=done.model_version,
        parent_version=done.parent_version,
        inference_dsl=done.inference_dsl,
    )


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def export_model(model_id: str, model_version: str, runtime: Runtime) -> Response:
    """This party's part of a model as a zip file (``fedloom model export``)."""
    model = runtime.models.get(model_id, model_version)
    if model is None:
        raise HTTPException(404, f"no model {model_id} version {model_version} here")
    try:
        data = runtime.models.export(model)
    except OSError as exc:
        raise HTTPException(500, f"cannot read the model files: {exc}") from None
    filename = f"{model_id.replace('#', '_')}_{model_version}.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/import", status_code=201)
async def import_model(file: UploadFile, runtime: Runtime) -> ModelView:
    """Register one party's part of a model from a file made by export. 422 says what is
    wrong with the file; 409 when the version exists here."""
    data = await file.read(MAX_IMPORT_BYTES + 1)
    try:
        model = runtime.models.import_(data)
    except ModelError as exc:
        code = 409 if "already exists" in str(exc) else 422
        raise HTTPException(code, str(exc)) from None
    return ModelView.of(model)
