"""The child process of one task: ``python -m services.executor.task_main <spec.json>``.

It loads the :class:`TaskSpec`, builds the federation :class:`Context` of its (role, party) over
the local proxy, runs the component through ``fedloom.components.run_task`` and writes
``result.json`` next to the spec (atomically): the task's outputs, or the error as
``"Type: message"`` (the traceback goes to stderr, which the executor streams as logs). Exit
status 0 on success, 1 on a task error, 2 on bad usage.

A task never outlives the process that started it: when its parent (the executor) is gone —
killed, out of memory, stopped without the grace to stop its children — the task stops itself
and its process group (crypto workers, anything it started) within :data:`PARENT_POLL_S`
seconds, instead of running on unsupervised and talking to its peers with nobody to report it.

The component sees ``ctx.sub(spec.component)``, so two components of one job never share a
message tag; the messenger's job id is ``spec.job_id``.

Test-only overrides (environment variables; never set them in a deployment):

- ``FEDLOOM_TASK_RUNNER=module:function`` replaces ``fedloom.components.run_task`` with a
  function of the same signature;
- ``FEDLOOM_TASK_TRANSPORT=memory`` gives the task an isolated in-memory transport instead of
  ``fedloom.federation.GrpcTransport(spec.proxy_address)``.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, cast

from fedloom.components import InputArtifact, run_task
from fedloom.federation import (
    Context,
    GrpcTransport,
    InMemoryBroker,
    InMemoryTransport,
    JobParties,
    KeyRing,
    Messenger,
    Party,
    Serde,
    Transport,
)
from services.common.contracts import ArtifactRef, TaskOutputs, TaskSpec
from services.executor.result import TaskResultFile, write_result

RUNNER_ENV = "FEDLOOM_TASK_RUNNER"
TRANSPORT_ENV = "FEDLOOM_TASK_TRANSPORT"
MAX_ERROR_CHARS = 4000

log = logging.getLogger("fedloom.task")

Runner = Callable[..., Any]
"""``run_task(module, role, party_id, ctx, params, inputs, output_dir) -> TaskResult``."""


def load_runner() -> Runner:
    """The component runner: the ``FEDLOOM_TASK_RUNNER`` override, else ``run_task``."""
    override = os.environ.get(RUNNER_ENV, "").strip()
    if override:
        module_name, sep, attr = override.partition(":")
        if not sep or not module_name or not attr:
            raise ValueError(f"{RUNNER_ENV} must look like 'module:function', got {override!r}")
        return cast(Runner, getattr(importlib.import_module(module_name), attr))
    return cast(Runner, run_task)


MIN_KEY_LENGTH_ENV = "FEDLOOM_MIN_KEY_LENGTH"

PARENT_POLL_S = 1.0
"""How often a task checks that the process that started it is still there."""


def watch_parent(parent: int, interval: float = PARENT_POLL_S) -> threading.Thread | None:
    """Stop this process and its group once ``parent`` is no longer its parent process.

    Returns the watching thread, or ``None`` when there is nothing to watch (``parent`` is init
    or the pid 1 of a container, whose death ends every process anyway).
    """
    if parent <= 1:
        return None

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        log.error("the executor (pid %d) is gone: stopping this task", parent)
        _stop_own_group()

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def _stop_own_group() -> None:
    """SIGKILL the process group this task leads (the executor starts each task in a session
    of its own), or just this process when it leads none."""
    try:
        if os.getpgid(0) == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
    except OSError:
        pass
    os._exit(1)


def make_transport(spec: TaskSpec) -> Transport:
    """The transport to this party's proxy (or the test-only in-memory one)."""
    if os.environ.get(TRANSPORT_ENV, "").strip() == "memory":
        return InMemoryTransport(InMemoryBroker())
    if not spec.proxy_address:
        raise ValueError("the task spec has no proxy_address")
    return GrpcTransport(spec.proxy_address)


def job_parties(spec: TaskSpec) -> JobParties:
    """The job's parties from ``spec.parties`` (``{"guest": [9999], "host": [10000], ...}``)."""
    for role in ("guest", "arbiter"):
        if len(spec.parties.get(role, [])) > 1:
            raise ValueError(f"a job has at most one {role}, got {spec.parties[role]}")
    guests = spec.parties.get("guest", [])
    arbiters = spec.parties.get("arbiter", [])
    return JobParties.of(
        guest=guests[0] if guests else None,
        hosts=list(spec.parties.get("host", [])),
        arbiter=arbiters[0] if arbiters else None,
    )


def build_context(spec: TaskSpec, transport: Transport) -> Context:
    """The job-level context of this task's (role, party); not yet namespaced by component."""
    local = Party(spec.role, spec.party_id)
    return Context(
        local=local,
        parties=job_parties(spec),
        messenger=Messenger(transport, spec.job_id, local),
        serde=Serde(key_policy()),
    )


def key_policy() -> KeyRing:
    """The site's policy for peers' public keys (``FEDLOOM_MIN_KEY_LENGTH``, default 2048)."""
    raw = os.environ.get(MIN_KEY_LENGTH_ENV, "2048").strip()
    try:
        bits = int(raw)
    except ValueError:
        raise ValueError(f"{MIN_KEY_LENGTH_ENV} must be a number of bits, got {raw!r}") from None
    if bits < 512:
        raise ValueError(f"{MIN_KEY_LENGTH_ENV}={bits} is below the 512-bit floor")
    return KeyRing(min_key_length=bits)


def build_inputs(spec: TaskSpec) -> dict[str, Any]:
    """``InputArtifact`` s of the spec's inputs."""
    return {
        name: InputArtifact(kind=ref.kind, path=Path(ref.path), meta=dict(ref.meta))
        for name, ref in spec.inputs.items()
    }


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"metric value of type {type(value).__name__} is not JSON serialisable")


def to_outputs(result: Any, output_dir: Path) -> TaskOutputs:
    """Convert a component's ``TaskResult`` (or a mapping with the same keys) to TaskOutputs."""

    def part(name: str) -> Any:
        if isinstance(result, Mapping):
            return result.get(name)
        return getattr(result, name, None)

    def ref(kind: Literal["data", "model", "cache"], value: Any) -> ArtifactRef:
        if isinstance(value, ArtifactRef):
            return value
        path = Path(value)
        return ArtifactRef(kind=kind, path=str(path if path.is_absolute() else output_dir / path))

    data = part("data") or {}
    model = part("model")
    cache = part("cache")
    metrics = part("metrics") or {}
    return TaskOutputs(
        data={name: ref("data", value) for name, value in dict(data).items()},
        model=None if model is None else ref("model", model),
        cache=None if cache is None else ref("cache", cache),
        metrics=json.loads(json.dumps(dict(metrics), default=_json_default)),
    )


def run(spec: TaskSpec, output_dir: Path) -> TaskOutputs:
    """Run the task in this process and return its outputs (exceptions propagate)."""
    runner = load_runner()
    inputs = build_inputs(spec)
    transport = make_transport(spec)
    try:
        ctx = build_context(spec, transport).sub(spec.component)
        log.info(
            "running %s (%s) as %s %s of job %s",
            spec.component,
            spec.module,
            spec.role,
            spec.party_id,
            spec.job_id,
        )
        result = runner(
            spec.module, spec.role, spec.party_id, ctx, dict(spec.params), inputs, output_dir
        )
        return to_outputs(result, output_dir)
    finally:
        transport.close()


def error_message(exc: BaseException) -> str:
    """``"Type: message"`` (just the type when the message is empty), bounded in length."""
    text = str(exc).strip()
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 3] + "..."


def main(argv: list[str] | None = None) -> int:
    """Entry point of the task's child process; returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m services.executor.task_main <spec.json>", file=sys.stderr)
        return 2
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    spec_path = Path(args[0])
    output_dir = spec_path.parent
    try:
        spec = TaskSpec.model_validate_json(spec_path.read_bytes())
        output_dir = Path(spec.output_dir)
        outputs = run(spec, output_dir)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        write_result(output_dir, TaskResultFile(ok=False, error=error_message(exc)))
        return 1
    write_result(output_dir, TaskResultFile(ok=True, outputs=outputs))
    return 0


if __name__ == "__main__":
    watch_parent(os.getppid())
    sys.exit(main())
