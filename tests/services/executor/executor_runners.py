"""Test-only component runner, loaded in the task's child process through
``FEDLOOM_TASK_RUNNER=executor_runners:run_task`` (this directory on ``PYTHONPATH``).

``params["behaviour"]`` picks what the "component" does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fedloom.federation import Context, Party


@dataclass
class FakeTaskResult:
    """Same shape as ``fedloom.components.TaskResult``."""

    data: dict[str, Path] = field(default_factory=dict)
    model: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def run_task(
    module: str,
    role: str,
    party_id: int,
    ctx: Context,
    params: dict[str, Any],
    inputs: dict[str, Any],
    output_dir: Path,
) -> FakeTaskResult:
    """Behave as ``params["behaviour"]`` says."""
    behaviour = params.get("behaviour", "succeed")
    print(f"runner {behaviour} in {module} as {role} {party_id}", flush=True)
    if behaviour == "succeed":
        assert ctx.local == Party(role, party_id)  # type: ignore[arg-type]
        (output_dir / "data.npz").write_bytes(b"fake")
        (output_dir / "model.json").write_text(json.dumps({"w": [0.5]}))
        return FakeTaskResult(
            data={"train_output_data": Path("data.npz")},
            model=output_dir / "model.json",
            metrics={
                "auc": np.float64(0.75),
                "n": np.int64(3),
                "namespace": ctx.namespace,
                "job_id": ctx.job_id,
                "hosts": [h.party.party_id for h in ctx.hosts],
                "params": params,
                "inputs": {k: [v.kind, str(v.path), v.meta] for k, v in inputs.items()},
                "cwd": os.getcwd(),
            },
        )
    if behaviour == "raise":
        raise ValueError("bad parameter alpha")
    if behaviour == "exit3":
        os._exit(3)
    if behaviour == "exit0":
        os._exit(0)
    if behaviour == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if behaviour == "ignore_term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if behaviour == "grandchild":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        (output_dir / "grandchild.pid").write_text(str(child.pid))
    if behaviour == "chatty":
        for i in range(int(params.get("lines", 10))):
            print(f"out {i}", flush=True)
            print(f"err {i}", file=sys.stderr, flush=True)
    print("sleeping", flush=True)
    time.sleep(float(params.get("sleep_s", 60)))
    return FakeTaskResult(metrics={"slept": True})
