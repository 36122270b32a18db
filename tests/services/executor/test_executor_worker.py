"""Executor: child processes, events, crashes, cancel, timeouts, logs, heartbeats, stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from executor_helpers import RecordingSink, make_spec

from services.common.contracts import TaskSpec
from services.executor.queue import InMemoryTaskQueue
from services.executor.settings import ExecutorSettings
from services.executor.task_main import RUNNER_ENV, TRANSPORT_ENV
from services.executor.worker import Executor

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
TEST_ENV = {
    RUNNER_ENV: "executor_runners:run_task",
    TRANSPORT_ENV: "memory",
    "PYTHONPATH": str(HERE),
}
CANCEL_BOUND_S = 5.0


class Harness:
    """An executor over an in-memory queue, recording its events."""

    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        values: dict[str, Any] = {
            "party_id": 9999,
            "data_dir": tmp_path,
            "executor_slots": 2,
            "heartbeat_s": 0.3,
            "kill_grace_s": 1.0,
            "redis_url": None,
        }
        values.update(settings)
        self.settings = ExecutorSettings(**values)
        self.queue = InMemoryTaskQueue()
        self.sink = RecordingSink()
        self.executor = Executor(
            self.queue, self.settings, self.sink, extra_env=TEST_ENV, poll_s=0.1
        )
        self.tmp_path = tmp_path

    def submit(self, behaviour: str = "succeed", **changes: Any) -> TaskSpec:
        params = {"behaviour": behaviour, **changes.pop("params", {})}
        task_id = changes.pop("task_id", None) or f"task-{uuid.uuid4().hex[:8]}"
        changes.setdefault("output_dir", task_id)
        spec = make_spec(params=params, task_id=task_id, **changes)
        self.queue.put(spec)
        return spec

    def wait_log(self, task_id: str, text: str) -> None:
        self.sink.wait_for(lambda e: e.task_id == task_id and e.kind == "log" and text in e.message)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    h.executor.start()
    yield h
    h.executor.stop(timeout=5)
    h.queue.close()


def test_success_reports_outputs_and_runs_in_a_child_process(harness: Harness) -> None:
    spec = harness.submit(
        "succeed",
        output_dir="job-1/guest/hetero_lr_0",
        inputs={"train_data": {"kind": "data", "path": "/in/t.npz", "meta": {"rows": 3}}},
    )
    end = harness.sink.wait_end(spec.task_id)
    assert end.kind == "success", end.message
    kinds = [e.kind for e in harness.sink.of(spec.task_id)]
    assert kinds[0] == "started" and kinds[-1] == "success"
    out = harness.tmp_path / "job-1/guest/hetero_lr_0"
    assert end.outputs is not None
    assert end.outputs.data["train_output_data"].path == str(out / "data.npz")
    assert end.outputs.data["train_output_data"].kind == "data"
    assert end.outputs.model is not None and end.outputs.model.path == str(out / "model.json")
    metrics = end.outputs.metrics
    assert metrics["auc"] == 0.75 and metrics["n"] == 3
    assert metrics["namespace"] == "hetero_lr_0"  # ctx.sub(component)
    assert metrics["job_id"] == "job-1" and metrics["hosts"] == [10000]
    assert metrics["inputs"] == {"train_data": ["data", "/in/t.npz", {"rows": 3}]}
    assert metrics["cwd"] == str(out)
    written = json.loads((out / "spec.json").read_text())
    assert written["output_dir"] == str(out) and written["task_id"] == spec.task_id
    assert json.loads((out / "result.json").read_text())["ok"] is True
    assert "runner succeed" in (out / "task.log").read_text()


def test_a_raising_task_fails_with_the_exception_message(harness: Harness) -> None:
    spec = harness.submit("raise")
    end = harness.sink.wait_end(spec.task_id)
    assert (end.kind, end.message) == ("failed", "ValueError: bad parameter alpha")
    logs = "\n".join(e.message for e in harness.sink.of(spec.task_id, "log"))
    assert "Traceback" in logs and "bad parameter alpha" in logs


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("exit3", "task process exited with code 3"),
        ("sigkill", "task process killed by SIGKILL"),
        ("exit0", "task process exited without writing its result"),
    ],
)
def test_a_crashed_child_fails_with_its_exit_status(
    harness: Harness, behaviour: str, reason: str
) -> None:
    spec = harness.submit(behaviour)
    end = harness.sink.wait_end(spec.task_id)
    assert (end.kind, end.message) == ("failed", reason)


@pytest.mark.parametrize("behaviour", ["sleep", "ignore_term"])
def test_cancel_stops_a_running_task_within_5s(harness: Harness, behaviour: str) -> None:
    spec = harness.submit(behaviour)
    harness.wait_log(spec.task_id, "sleeping")
    start = time.monotonic()
    harness.executor.cancel(spec.task_id)
    end = harness.sink.wait_end(spec.task_id, timeout=CANCEL_BOUND_S + 5)
    assert time.monotonic() - start < CANCEL_BOUND_S
    assert (end.kind, end.message) == ("failed", "canceled")
    assert harness.executor.running() == []


def test_a_cancel_mark_on_the_queue_is_noticed_while_running(harness: Harness) -> None:
    spec = harness.submit("sleep")
    harness.wait_log(spec.task_id, "sleeping")
    start = time.monotonic()
    harness.queue.cancel(spec.task_id)  # what a flow does through Redis
    end = harness.sink.wait_end(spec.task_id, timeout=CANCEL_BOUND_S + 5)
    assert time.monotonic() - start < CANCEL_BOUND_S
    assert (end.kind, end.message) == ("failed", "canceled")


def test_a_task_canceled_while_queued_never_starts(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    spec = h.submit("succeed")
    h.queue.cancel(spec.task_id)
    with h.executor:
        end = h.sink.wait_end(spec.task_id)
    assert (end.kind, end.message) == ("failed", "canceled")
    assert [e.kind for e in h.sink.of(spec.task_id)] == ["failed"]


def test_cancel_kills_the_whole_process_group(harness: Harness) -> None:
    spec = harness.submit("grandchild", output_dir="gc")
    harness.wait_log(spec.task_id, "sleeping")
    pid = int((harness.tmp_path / "gc" / "grandchild.pid").read_text())
    harness.executor.cancel(spec.task_id)
    harness.sink.wait_end(spec.task_id, timeout=CANCEL_BOUND_S + 5)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed grandchild is reaped by init; until then it is a zombie.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][:1] != "Z"


def test_a_task_past_its_timeout_is_stopped(harness: Harness) -> None:
    spec = harness.submit("sleep", timeout_s=0.5)
    end = harness.sink.wait_end(spec.task_id)
    assert (end.kind, end.message) == ("failed", "timed out after 0.5s")


def test_heartbeats_arrive_while_the_task_runs(harness: Harness) -> None:
    spec = harness.submit("sleep", params={"sleep_s": 1.5})
    end = harness.sink.wait_end(spec.task_id)
    assert end.kind == "success", end.message
    events = harness.sink.of(spec.task_id)
    beats = [i for i, e in enumerate(events) if e.kind == "heartbeat"]
    assert len(beats) >= 2
    assert events[0].kind == "started" and beats[-1] < len(events) - 1


def test_output_is_streamed_as_bounded_log_batches(harness: Harness) -> None:
    spec = harness.submit("chatty", params={"lines": 300, "sleep_s": 1.0})
    harness.wait_log(spec.task_id, "sleeping")
    assert not any(e.kind in ("success", "failed") for e in harness.sink.of(spec.task_id))
    end = harness.sink.wait_end(spec.task_id)
    assert end.kind == "success", end.message
    batches = [e.message.split("\n") for e in harness.sink.of(spec.task_id, "log")]
    assert all(len(batch) <= 200 for batch in batches)
    lines = [line for batch in batches for line in batch if line.startswith(("out ", "err "))]
    expected = [f"{kind} {i}" for i in range(300) for kind in ("out", "err")]
    assert lines == expected


def test_slots_run_tasks_in_parallel(harness: Harness) -> None:
    a = harness.submit("sleep", params={"sleep_s": 1.0})
    b = harness.submit("sleep", params={"sleep_s": 1.0})
    assert harness.sink.wait_end(a.task_id).kind == "success"
    assert harness.sink.wait_end(b.task_id).kind == "success"
    order = [(e.task_id, e.kind) for e in harness.sink.events]
    first_end = min(order.index((a.task_id, "success")), order.index((b.task_id, "success")))
    assert order.index((a.task_id, "started")) < first_end
    assert order.index((b.task_id, "started")) < first_end


def test_an_executor_error_fails_the_task_and_the_slot_goes_on(harness: Harness) -> None:
    (harness.tmp_path / "blocked").write_text("a file where a directory should be")
    bad = harness.submit("succeed", output_dir="blocked/out")
    end = harness.sink.wait_end(bad.task_id)
    assert end.kind == "failed" and end.message.startswith("executor error: ")
    good = harness.submit("succeed")
    assert harness.sink.wait_end(good.task_id).kind == "success"


def test_stop_stops_running_tasks_and_reports_them(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.executor.start()
    spec = h.submit("sleep")
    h.wait_log(spec.task_id, "sleeping")
    start = time.monotonic()
    h.executor.stop(timeout=0.2)
    assert time.monotonic() - start < 5
    ends = [e for e in h.sink.of(spec.task_id) if e.kind in ("success", "failed")]
    assert [(e.kind, e.message) for e in ends] == [("failed", "executor stopped")]
    assert h.executor.running() == []


def test_tasks_cannot_share_an_output_directory(harness: Harness) -> None:
    first = harness.submit("sleep", output_dir="shared")
    harness.wait_log(first.task_id, "sleeping")
    second = harness.submit("succeed", output_dir="shared")
    end = harness.sink.wait_end(second.task_id)
    assert end.kind == "failed" and end.message.startswith("output directory ")
    assert first.task_id in end.message
    dup = first.model_copy()
    harness.queue.put(dup)  # delivered twice: dropped without an event
    time.sleep(0.5)
    assert [e.kind for e in harness.sink.of(first.task_id) if e.kind == "started"] == ["started"]
    harness.executor.cancel(first.task_id)
    assert harness.sink.wait_end(first.task_id).message == "canceled"


def test_a_task_stops_when_its_executor_is_killed(tmp_path: Path) -> None:
    """SIGKILL the process that started a task: the task and what it started stop too, instead
    of running on unsupervised."""
    spec = make_spec(
        params={"behaviour": "grandchild", "sleep_s": 60}, task_id="orphan", output_dir=tmp_path
    )
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(spec.model_dump_json())
    launcher = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-m', 'services.executor.task_main', "
        f"{str(spec_path)!r}], start_new_session=True)\n"
        f"open({str(tmp_path / 'task.pid')!r}, 'w').write(str(child.pid))\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", launcher], env={**os.environ, **TEST_ENV}, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "grandchild.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        task = int((tmp_path / "task.pid").read_text())
        grandchild = int((tmp_path / "grandchild.pid").read_text())
        assert _alive(task) and _alive(grandchild)
    finally:
        parent.kill()
        parent.wait(5)
    deadline = time.monotonic() + 10
    while (_alive(task) or _alive(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(task), "the task outlived its executor"
    assert not _alive(grandchild), "the task's own child outlived the executor"
