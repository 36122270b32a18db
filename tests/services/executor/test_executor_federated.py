"""Two parties' tasks through real proxies: task_main's Context over GrpcTransport, and the
real components (no test overrides)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from executor_helpers import RecordingSink, make_spec

from fedloom.components.io import load_table, save_table
from fedloom.data import Table
from services.common.contracts import ArtifactRef
from services.executor.queue import InMemoryTaskQueue
from services.executor.settings import ExecutorSettings
from services.executor.worker import Executor

pytestmark = pytest.mark.integration

GUEST, HOST = 9999, 10000


def _table(ids: list[str], labels: bool) -> Table:
    features = np.arange(len(ids) * 2, dtype=np.float64).reshape(len(ids), 2)
    return Table(ids, ["x0", "x1"], features, np.ones(len(ids)) if labels else None)


def test_guest_and_host_tasks_intersect_through_their_proxies(
    start_proxies: Callable[..., Any], tmp_path: Path
) -> None:
    proxies = start_proxies([GUEST, HOST])  # tests/conftest.py
    queue = InMemoryTaskQueue()
    sink = RecordingSink()
    settings = ExecutorSettings(party_id=GUEST, data_dir=tmp_path, redis_url=None)
    executor = Executor(queue, settings, sink, extra_env={}, poll_s=0.1)
    job_id = f"job-{uuid.uuid4().hex[:8]}"
    tables = {
        ("guest", GUEST): _table(["a", "b", "c", "d", "e"], labels=True),
        ("host", HOST): _table(["d", "b", "z", "c", "y"], labels=False),
    }
    specs = []
    for (role, party_id), table in tables.items():
        path = save_table(tmp_path / f"{role}-in.npz", table)
        specs.append(
            make_spec(
                output_dir=f"{role}/intersection_0",
                task_id=f"{job_id}-{role}",
                job_id=job_id,
                component="intersection_0",
                module="Intersection",
                role=role,
                party_id=party_id,
                parties={"guest": [GUEST], "host": [HOST]},
                params={"intersect_method": "ecdh"},
                inputs={"data": ArtifactRef(kind="data", path=str(path))},
                proxy_address=proxies.address(party_id),
            )
        )
    try:
        executor.start()
        for spec in specs:
            queue.put(spec)
        ends = [sink.wait_end(spec.task_id, timeout=60) for spec in specs]
    finally:
        executor.stop(timeout=5)
        queue.close()
        proxies.stop()
    for end in ends:
        assert end.kind == "success", end.message
        assert end.outputs is not None
        aligned = load_table(end.outputs.data["data"].path)
        assert sorted(aligned.ids) == ["b", "c", "d"]
