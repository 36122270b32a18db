"""task_main, the child entry point, run in this process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from executor_helpers import make_spec

from fedloom.federation import InMemoryBroker, InMemoryTransport, Party
from services.common.contracts import ArtifactRef
from services.executor import task_main
from services.executor.result import read_result
from services.executor.task_main import (
    RUNNER_ENV,
    TRANSPORT_ENV,
    build_context,
    error_message,
    job_parties,
    load_runner,
    make_transport,
    to_outputs,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def test_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RUNNER_ENV, "executor_runners:run_task")
    monkeypatch.setenv(TRANSPORT_ENV, "memory")


def write_spec(tmp_path: Path, **changes: Any) -> Path:
    spec = make_spec(output_dir=tmp_path, **changes)
    path = tmp_path / "spec.json"
    path.write_text(spec.model_dump_json())
    return path


def test_job_parties_follow_the_spec() -> None:
    parties = job_parties(make_spec(parties={"guest": [9999], "host": [10000, 10002]}))
    assert parties.guest == Party("guest", 9999)
    assert [p.party_id for p in parties.hosts] == [10000, 10002]
    assert parties.arbiter is None
    with pytest.raises(ValueError, match="at most one guest"):
        job_parties(make_spec(parties={"guest": [1, 2], "host": [3]}))


def test_the_context_is_the_tasks_party_in_the_job() -> None:
    spec = make_spec(role="host", party_id=10000)
    ctx = build_context(spec, InMemoryTransport(InMemoryBroker())).sub(spec.component)
    assert ctx.local == Party("host", 10000)
    assert ctx.job_id == "job-1" and ctx.namespace == "hetero_lr_0"
    assert ctx.messenger.local == ctx.local


def test_the_grpc_transport_needs_a_proxy_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TRANSPORT_ENV, raising=False)
    with pytest.raises(ValueError, match="proxy_address"):
        make_transport(make_spec(proxy_address=""))


def test_outputs_are_absolute_artifact_refs_and_metrics_plain_json(tmp_path: Path) -> None:
    result = {
        "data": {"a": "a.npz", "b": tmp_path / "elsewhere" / "b.npz"},
        "model": Path("model.json"),
        "cache": "cache.npz",
        "metrics": {"auc": np.float32(0.5), "curve": np.array([1, 2]), "n": np.int64(4)},
    }
    outputs = to_outputs(result, tmp_path)
    assert outputs.data["a"] == ArtifactRef(kind="data", path=str(tmp_path / "a.npz"))
    assert outputs.data["b"].path == str(tmp_path / "elsewhere" / "b.npz")
    assert outputs.model == ArtifactRef(kind="model", path=str(tmp_path / "model.json"))
    assert outputs.cache == ArtifactRef(kind="cache", path=str(tmp_path / "cache.npz"))
    assert outputs.metrics == {"auc": 0.5, "curve": [1, 2], "n": 4}
    empty = {"data": {}, "model": None, "cache": None, "metrics": {}}
    assert to_outputs(None, tmp_path).model_dump() == empty
    with pytest.raises(TypeError, match="not JSON serialisable"):
        to_outputs({"metrics": {"x": object()}}, tmp_path)


def test_error_messages_are_type_and_message() -> None:
    assert error_message(ValueError("bad alpha")) == "ValueError: bad alpha"
    assert error_message(KeyError()) == "KeyError"
    assert len(error_message(RuntimeError("x" * 10_000))) == task_main.MAX_ERROR_CHARS


@pytest.mark.parametrize("override", ["no_colon", "module:", ":function"])
def test_a_malformed_runner_override_is_refused(
    monkeypatch: pytest.MonkeyPatch, override: str
) -> None:
    monkeypatch.setenv(RUNNER_ENV, override)
    with pytest.raises(ValueError, match="module:function"):
        load_runner()


@pytest.mark.usefixtures("test_runner")
def test_main_writes_the_outputs(tmp_path: Path) -> None:
    assert task_main.main([str(write_spec(tmp_path))]) == 0
    result = read_result(tmp_path)
    assert result is not None and result.ok and result.outputs is not None
    assert result.outputs.metrics["namespace"] == "hetero_lr_0"
    assert not list(tmp_path.glob(".result.json.*"))  # no temp file left by the atomic write


@pytest.mark.usefixtures("test_runner")
def test_main_writes_the_error_and_logs_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_spec(tmp_path, params={"behaviour": "raise"})
    assert task_main.main([str(path)]) == 1
    assert json.loads((tmp_path / "result.json").read_text()) == {
        "ok": False,
        "outputs": None,
        "error": "ValueError: bad parameter alpha",
    }
    assert "Traceback" in capsys.readouterr().err


def test_an_unreadable_spec_is_reported_next_to_it(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"task_id": "t"}))
    assert task_main.main([str(path)]) == 1
    result = read_result(tmp_path)
    assert result is not None and not result.ok
    assert result.error.startswith("ValidationError: ")


def test_usage() -> None:
    assert task_main.main([]) == 2


def test_a_task_under_init_has_no_parent_to_watch() -> None:
    """Under pid 1 (a container's init, or after reparenting) there is nothing to watch."""
    assert task_main.watch_parent(1) is None
    assert task_main.watch_parent(0) is None
