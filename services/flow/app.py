"""The flow's FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.flow.api import internal, jobs, models, tables
from services.flow.runtime import FlowRuntime
from services.flow.settings import FlowSettings
from services.flow.wiring import FlowWiring, default_wiring


def create_app(settings: FlowSettings, wiring: FlowWiring | None = None) -> FastAPI:
    """A flow app for one party. Its lifespan migrates the database and runs the scheduler
    (and the embedded executor, if wired); ``wiring`` defaults to :func:`default_wiring`."""
    runtime = FlowRuntime.build(settings, wiring or default_wiring(settings))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(
        title=f"fedloom flow — party {settings.party_id}",
        summary="Jobs, tables and scheduling of one fedloom site",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.include_router(tables.router)
    app.include_router(jobs.router)
    app.include_router(models.router)
    app.include_router(internal.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, object]:
        """Liveness (no token needed)."""
        return {"status": "ok", "party_id": settings.party_id}

    return app
