"""``/internal/v1``: control messages from peer flows (via the proxy) and executor events."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from services.common.contracts import ControlReply, ControlRequest, TaskEvent
from services.flow.api.deps import Authorized, Jobs, Runtime

router = APIRouter(prefix="/internal/v1", tags=["internal"], dependencies=Authorized)


@router.post("/control")
def control(request: ControlRequest, runtime: Runtime) -> ControlReply:
    """Handle a flow-to-flow control message; refusals are ``ok: false`` with the reason."""
    return runtime.handler.handle(request)


@router.post("/tasks/{task_id}/events")
def task_event(task_id: str, event: TaskEvent, runtime: Runtime, jobs: Jobs) -> dict[str, str]:
    """An executor's report on one of this party's tasks; the reply carries the task's status
    (``canceled`` tells the executor to stop)."""
    if event.task_id != task_id:
        raise HTTPException(422, f"event for task {event.task_id!r} posted to {task_id!r}")
    task = jobs.get_task(task_id)
    if task is None or task.party_id != runtime.settings.party_id:
        raise HTTPException(404, f"no task {task_id!r} at party {runtime.settings.party_id}")
    updated = jobs.apply_event(event)
    if updated is None:
        raise HTTPException(404, f"no task {task_id!r}")
    if event.kind in ("success", "failed"):
        runtime.scheduler.wake()
    return {"task_id": task_id, "status": updated.status}
