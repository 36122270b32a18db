"""Dependencies shared by the routers: the runtime, its parts, and bearer-token auth."""

from __future__ import annotations

import secrets
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.flow.jobstore import JobStore
from services.flow.runtime import FlowRuntime
from services.flow.tablestore import TableStore

_bearer = HTTPBearer(auto_error=False, description="FEDLOOM_TOKEN of this site")


def get_runtime(request: Request) -> FlowRuntime:
    """The app's runtime."""
    return cast(FlowRuntime, request.app.state.runtime)


Runtime = Annotated[FlowRuntime, Depends(get_runtime)]


def require_token(
    runtime: Runtime,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless the request carries ``Authorization: Bearer <FEDLOOM_TOKEN>``."""
    expected = runtime.settings.token.encode()
    given = credentials.credentials.encode() if credentials is not None else b""
    if not given or not secrets.compare_digest(given, expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


def get_jobs(runtime: Runtime) -> JobStore:
    """The job store."""
    return runtime.jobs


def get_tables(runtime: Runtime) -> TableStore:
    """The table store."""
    return runtime.tables


Jobs = Annotated[JobStore, Depends(get_jobs)]
Tables = Annotated[TableStore, Depends(get_tables)]
Authorized = [Depends(require_token)]
