"""Test helpers for the flow: in-process control channel, fake executor, sites, sample job."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flow_dsl_fake import fake_planner

from services.common.contracts import (
    ArtifactRef,
    ControlReply,
    ControlRequest,
    TaskEvent,
    TaskOutputs,
    TaskSpec,
)
from services.flow.app import create_app
from services.flow.planning import Planner
from services.flow.settings import FlowSettings
from services.flow.wiring import FlowWiring

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GUEST, HOST, ARBITER = 9999, 10000, 10001

GUEST_CSV = "id,y,x0,x1\na,1,0.5,1.5\nb,0,1.0,2.0\nc,1,-1,3\nd,0,2,0\n"
HOST_CSV = "id,x2,x3,x4\nb,1,2,3\nc,4,5,6\nd,7,8,9\ne,1,1,1\n"


class InProcessChannel:
    """A ControlChannel that posts to the target app's ``/internal/v1/control``."""

    def __init__(self) -> None:
        self.apps: dict[int, TestClient] = {}
        self.down: set[int] = set()
        self.sent: list[ControlRequest] = []

    def send(self, request: ControlRequest) -> ControlReply:
        """Deliver like the proxies would; unreachable parties raise ConnectionError."""
        self.sent.append(request)
        client = self.apps.get(request.dst_party_id)
        if client is None or request.dst_party_id in self.down:
            raise ConnectionError(f"no route to party {request.dst_party_id}")
        response = client.post(
            "/internal/v1/control", json=request.model_dump(mode="json"), headers=AUTH
        )
        response.raise_for_status()
        return ControlReply.model_validate(response.json())


Behaviour = str  # success | fail | hang | silent


@dataclass
class FakeExecutor:
    r"""A TaskQueue + executor that runs each task in a thread and posts events to its flow.

    ``behaviour[component]``: ``success`` (writes a data artifact, a model and metrics),
    ``fail``, ``hang`` (heartbeats until canceled or :meth:`release`\ d, then succeeds),
    ``silent`` (starts, then says nothing).
    """

    behaviour: dict[str, Behaviour] = field(default_factory=dict)
    specs: list[TaskSpec] = field(default_factory=list)
    canceled: set[str] = field(default_factory=set)
    client: TestClient | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _released: threading.Event = field(default_factory=threading.Event)

    def put(self, spec: TaskSpec) -> None:
        """Start running the task."""
        self.specs.append(spec)
        threading.Thread(target=self._run, args=(spec,), daemon=True).start()

    def cancel(self, task_id: str) -> None:
        """Kill the task."""
        self.canceled.add(task_id)

    def release(self) -> None:
        """Let hanging tasks finish successfully."""
        self._released.set()

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Stop hanging tasks."""
        self._stop.set()

    def _post(self, spec: TaskSpec, kind: str, message: str = "", **extra: Any) -> None:
        assert self.client is not None
        event = TaskEvent(task_id=spec.task_id, kind=kind, message=message, **extra)  # type: ignore[arg-type]
        self.client.post(
            f"/internal/v1/tasks/{spec.task_id}/events",
            json=event.model_dump(mode="json"),
            headers=AUTH,
        )

    def _run(self, spec: TaskSpec) -> None:
        behaviour = self.behaviour.get(spec.component, "success")
        self._post(spec, "started")
        self._post(spec, "log", f"{spec.component} runs as {spec.role}")
        if behaviour == "success":
            self._post(spec, "success", outputs=write_outputs(spec))
        elif behaviour == "fail":
            self._post(spec, "failed", f"boom in {spec.component} at {spec.party_id}")
        elif behaviour == "hang":
            while spec.task_id not in self.canceled and not self._stop.is_set():
                if self._released.is_set():
                    self._post(spec, "success", outputs=write_outputs(spec))
                    return
                self._post(spec, "heartbeat")
                time.sleep(0.05)


def write_outputs(spec: TaskSpec) -> TaskOutputs:
    """A small data artifact (.npz), a JSON model and metrics in the task's output dir."""
    out = Path(spec.output_dir)
    ids = np.array([f"id{i}" for i in range(5)])
    np.savez(
        out / "data.npz",
        ids=ids,
        header=np.array(["x0", "x1"]),
        features=np.arange(10, dtype=np.float64).reshape(5, 2),
        labels=np.array([0, 1, 0, 1, 1], dtype=np.float64),
    )
    (out / "model.json").write_text(json.dumps({"weights": [0.5, -1.0], "role": spec.role}))
    return TaskOutputs(
        data={"data": ArtifactRef(kind="data", path=str(out / "data.npz"))},
        model=ArtifactRef(kind="model", path=str(out / "model.json")),
        metrics={"auc": 0.75, "component": spec.component},
    )


@dataclass
class Site:
    """One party's flow app, its (entered) client and its fake executor."""

    party_id: int
    app: FastAPI
    client: TestClient
    executor: FakeExecutor
    settings: FlowSettings


def make_settings(
    tmp_path: Path, party_id: int, peers: list[int], **overrides: Any
) -> FlowSettings:
    """Settings of a test flow under ``tmp_path/<party_id>``."""
    values: dict[str, Any] = {
        "party_id": party_id,
        "token": TOKEN,
        "routes": {p: f"127.0.0.1:{9000 + i}" for i, p in enumerate(peers) if p != party_id},
        "data_dir": tmp_path / str(party_id),
        "database_url": f"sqlite:///{tmp_path / str(party_id) / 'flow.db'}",
        "poll_interval_s": 0.05,
        "party_timeout_s": 1.0,
    }
    values.update(overrides)
    return FlowSettings(**values)


@contextmanager
def running_sites(
    tmp_path: Path,
    parties: tuple[int, ...] = (GUEST, HOST, ARBITER),
    *,
    behaviour: dict[str, Behaviour] | None = None,
    settings: Callable[[int], dict[str, Any]] | None = None,
    channel: InProcessChannel | None = None,
    peers: tuple[int, ...] = (),
    planner: Planner = fake_planner,
) -> Iterator[dict[int, Site]]:
    """Flow apps for ``parties`` wired to one in-process channel, lifespans running.

    Each routes to every one of ``parties`` and ``peers``; ``behaviour`` is given to every
    party's fake executor unless ``settings(party)`` names its own ``behaviour``.
    """
    channel = channel or InProcessChannel()
    sites: dict[int, Site] = {}
    with ExitStack() as stack:
        for party in parties:
            overrides = settings(party) if settings else {}
            tasks = overrides.pop("behaviour", behaviour)
            conf = make_settings(tmp_path, party, [*parties, *peers], **overrides)
            executor = FakeExecutor(dict(tasks or {}))
            app = create_app(conf, FlowWiring(channel, executor, planner, executor))
            client = stack.enter_context(TestClient(app))
            executor.client = TestClient(app)
            channel.apps[party] = TestClient(app)
            sites[party] = Site(party, app, client, executor, conf)
        yield sites


def upload(site: Site, namespace: str, name: str, csv_text: str, **params: Any) -> Any:
    """Upload a CSV table to a site."""
    return site.client.post(
        f"/api/v1/tables/{namespace}/{name}",
        content=csv_text.encode(),
        params=params,
        headers={**AUTH, "Content-Type": "text/csv"},
    )


def sample_job(
    *, host: bool = True, arbiter: bool = True, timeout: float = 60, lr: bool = True
) -> dict[str, Any]:
    """Reader → Intersection → HeteroLR between guest 9999, host 10000, arbiter 10001."""
    components: dict[str, Any] = {
        "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
        "intersection_0": {
            "module": "Intersection",
            "input": {"data": {"data": ["reader_0.data"]}},
            "output": {"data": ["data"]},
        },
    }
    if lr:
        components["hetero_lr_0"] = {
            "module": "HeteroLR",
            "input": {"data": {"train_data": ["intersection_0.data"]}},
            "output": {"data": ["data"], "model": ["model"]},
        }
    role: dict[str, list[int]] = {"guest": [GUEST]}
    by_role: dict[str, Any] = {
        "guest": {"0": {"reader_0": {"table": {"namespace": "exp", "name": "guest"}}}}
    }
    if host:
        role["host"] = [HOST]
        by_role["host"] = {"0": {"reader_0": {"table": {"namespace": "exp", "name": "host"}}}}
    if arbiter:
        role["arbiter"] = [ARBITER]
    conf = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": GUEST},
        "role": role,
        "job_parameters": {"common": {"timeout": timeout}},
        "component_parameters": {
            "common": {"hetero_lr_0": {"max_iter": 3}} if lr else {},
            "role": by_role,
        },
    }
    return {"dsl": {"components": components}, "conf": conf}


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    """Poll until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def job_status(site: Site, job_id: str) -> str:
    """A job's status at a site."""
    response = site.client.get(f"/api/v1/jobs/{job_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def wait_status(site: Site, job_id: str, status: str, timeout: float = 15.0) -> None:
    """Wait until the job reaches ``status`` at ``site``."""
    wait_for(
        lambda: job_status(site, job_id) == status, timeout, f"job {status} at {site.party_id}"
    )
