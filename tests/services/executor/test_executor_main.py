"""The embedded executor (the flow's in-process mode) and ``python -m services.executor``."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from executor_helpers import RecordingSink, make_spec
from flaky_http import Recorded, flaky_server

from services.common.contracts import TaskEvent
from services.executor.embedded import EmbeddedExecutor
from services.executor.queue import QueueClosed, RedisTaskQueue
from services.executor.settings import ExecutorSettings
from services.executor.task_main import RUNNER_ENV, TRANSPORT_ENV

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
TEST_ENV = {
    RUNNER_ENV: "executor_runners:run_task",
    TRANSPORT_ENV: "memory",
    "PYTHONPATH": str(HERE),
}


def test_embedded_executor_runs_and_cancels_tasks(tmp_path: Path) -> None:
    settings = ExecutorSettings(party_id=9999, data_dir=tmp_path, heartbeat_s=0.3, redis_url=None)
    sink = RecordingSink()
    embedded = EmbeddedExecutor(settings, sink, extra_env=TEST_ENV)
    with embedded:
        ok = make_spec(params={"behaviour": "succeed"}, output_dir="ok")
        slow = make_spec(params={"behaviour": "sleep"}, output_dir="slow")
        embedded.submit(ok)
        embedded.submit(slow)
        assert sink.wait_end(ok.task_id).kind == "success"
        sink.wait_for(lambda e: e.task_id == slow.task_id and "sleeping" in e.message)
        assert embedded.running() == [slow.task_id]
        embedded.cancel(slow.task_id)
        end = sink.wait_end(slow.task_id, timeout=5)
        assert (end.kind, end.message) == ("failed", "canceled")
    with pytest.raises(QueueClosed):
        embedded.submit(make_spec())


def _run_main(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.executor"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def _clean_env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if not k.startswith("FEDLOOM_") and k != "REDIS_URL"
    }


def test_standalone_executor_requires_redis_url() -> None:
    done = _run_main({**_clean_env(), "FEDLOOM_PARTY_ID": "9999"})
    assert done.returncode == 2
    assert "REDIS_URL is not set" in done.stderr


def test_standalone_executor_requires_a_party_id() -> None:
    done = _run_main({**_clean_env(), "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert done.returncode == 2
    assert "invalid settings" in done.stderr and "party_id" in done.stderr


def _event(request: Recorded) -> TaskEvent:
    return TaskEvent.model_validate(json.loads(request.body))


def test_standalone_executor_consumes_redis_and_posts_events(
    redis_url: str, tmp_path: Path
) -> None:
    party_id = random.randrange(10**6, 10**9)
    queue = RedisTaskQueue(redis_url, party_id)
    with flaky_server(script=[503]) as flow:  # the first event must be retried
        env = {
            **_clean_env(),
            **TEST_ENV,
            "REDIS_URL": redis_url,
            "FEDLOOM_PARTY_ID": str(party_id),
            "FEDLOOM_FLOW_URL": flow.url,
            "FEDLOOM_TOKEN": "tok",
            "FEDLOOM_DATA_DIR": str(tmp_path),
            "FEDLOOM_HEARTBEAT_S": "0.3",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.executor"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            ok = make_spec(params={"behaviour": "succeed"}, output_dir="ok")
            slow = make_spec(params={"behaviour": "sleep"}, output_dir="slow")
            queue.put(ok)
            queue.put(slow)
            done = _event(flow.wait_for(lambda r: _event(r).kind == "success"))
            assert done.task_id == ok.task_id and done.outputs is not None
            assert done.outputs.model is not None
            assert done.outputs.model.path == str(tmp_path / "ok" / "model.json")
            assert all(r.headers["Authorization"] == "Bearer tok" for r in flow.requests)
            flow.wait_for(
                lambda r: _event(r).task_id == slow.task_id and "sleeping" in r.body.decode()
            )
            start = time.monotonic()
            queue.cancel(slow.task_id)  # the flow cancels through Redis
            end = _event(flow.wait_for(lambda r: _event(r).kind == "failed", timeout=10))
            assert (end.task_id, end.message) == (slow.task_id, "canceled")
            assert time.monotonic() - start < 5
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            queue.close()
        kinds = {_event(r).kind for r in flow.requests}
        assert {"started", "heartbeat", "log", "success", "failed"} <= kinds
