"""The executor: slots (threads) that take tasks from a queue and run each in a child process.

Per task: ``spec.json`` is written into the task's output directory, the child
``python -m services.executor.task_main spec.json`` starts in its own process group, and the
executor reports ``started``, a ``heartbeat`` every ``heartbeat_s``, the child's output as
``log`` batches, then ``success`` (outputs from ``result.json``) or ``failed`` (the task's
error, ``canceled``, a timeout, or the exit code / signal of a crashed child).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import services
from services.common.contracts import TaskEvent, TaskOutputs, TaskSpec
from services.executor.events import EventSink
from services.executor.queue import TaskQueue
from services.executor.result import LOG_FILE, RESULT_FILE, SPEC_FILE, read_result, write_atomic
from services.executor.settings import ExecutorSettings
from services.executor.streams import EventDispatcher, LogPump

log = logging.getLogger(__name__)

CANCELED = "canceled"
STOPPED = "executor stopped"
TICK_S = 0.1
LOG_FLUSH_S = 0.5
PUMP_JOIN_S = 2.0

EventKind = Literal["started", "heartbeat", "log", "success", "failed"]


class _Running:
    """One child process and why it is being stopped, if it is."""

    def __init__(self, spec: TaskSpec, proc: subprocess.Popen[bytes]) -> None:
        self.spec = spec
        self.proc = proc
        self.stop_reason: str | None = None
        self.stop_requested_at = 0.0
        self.exited = False
        self._lock = threading.Lock()

    def request_stop(self, reason: str) -> None:
        """Record the first reason and send SIGTERM to the child's process group."""
        with self._lock:
            if self.exited or self.stop_reason is not None:
                return
            self.stop_reason = reason
            self.stop_requested_at = time.monotonic()
            self.signal(signal.SIGTERM)

    def signal(self, sig: signal.Signals) -> None:
        """Signal the whole process group (the child and anything it forked)."""
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def mark_exited(self) -> None:
        """The child was reaped: later stop requests do nothing."""
        with self._lock:
            self.exited = True


def exit_reason(returncode: int) -> str:
    """``"task process killed by SIGKILL"`` / ``"task process exited with code 3"``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"task process killed by {name}"
    return f"task process exited with code {returncode}"


class Executor:
    """Runs tasks from ``queue`` in ``settings.executor_slots`` parallel child processes.

    ``extra_env`` is added to the children's environment (on top of this process's).
    """

    def __init__(
        self,
        queue: TaskQueue,
        settings: ExecutorSettings,
        event_sink: EventSink,
        *,
        extra_env: Mapping[str, str] | None = None,
        poll_s: float = 0.5,
    ) -> None:
        self.queue = queue
        self.settings = settings
        self.event_sink = event_sink
        self.extra_env = dict(extra_env or {})
        self.poll_s = poll_s
        self._dispatcher: EventDispatcher | None = None
        self._slots: list[threading.Thread] = []
        self._running: dict[str, _Running] = {}
        self._dirs: dict[Path, str] = {}  # output dirs of the tasks taken, to their task ids
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._force_stop = threading.Event()

    def start(self) -> None:
        """Start the slots; they take tasks until :meth:`stop`."""
        if self._slots:
            raise RuntimeError("executor already started")
        self._dispatcher = EventDispatcher(self.event_sink)
        for index in range(self.settings.executor_slots):
            thread = threading.Thread(
                target=self._slot_loop, name=f"executor-slot-{index}", daemon=True
            )
            self._slots.append(thread)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking tasks, let running ones finish for up to ``timeout`` seconds, then stop
        the rest (reported failed: ``executor stopped``) and deliver the pending events."""
        self._stopping.set()
        deadline = time.monotonic() + max(timeout, 0.0)
        for thread in self._slots:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._force_stop.set()  # supervisors stop their children within one tick
        for thread in self._slots:
            thread.join(self.settings.kill_grace_s + PUMP_JOIN_S + 2.0)
            if thread.is_alive():
                log.error("%s did not stop", thread.name)
        if self._dispatcher is not None:
            self._dispatcher.close()

    def cancel(self, task_id: str) -> None:
        """Cancel ``task_id``: mark it on the queue and stop its child if it runs here."""
        try:
            self.queue.cancel(task_id)
        except Exception:
            log.exception("could not mark task %s canceled on the queue", task_id)
        with self._lock:
            running = self._running.get(task_id)
        if running is not None:
            running.request_stop(CANCELED)

    def running(self) -> list[str]:
        """Ids of the tasks whose child process runs now."""
        with self._lock:
            return list(self._running)

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _emit(
        self,
        task_id: str,
        kind: EventKind,
        message: str = "",
        outputs: TaskOutputs | None = None,
    ) -> None:
        if self._dispatcher is not None:
            event = TaskEvent(task_id=task_id, kind=kind, message=message, outputs=outputs)
            self._dispatcher.emit(event)

    def _slot_loop(self) -> None:
        backoff = self.poll_s
        while not self._stopping.is_set():
            try:
                spec = self.queue.get(self.poll_s)
            except Exception:
                if self._stopping.is_set():
                    break
                log.exception("taking a task from the queue failed; retrying in %.1fs", backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = self.poll_s
            if spec is None:
                continue
            if self._stopping.is_set():
                self._give_back(spec)
                break
            try:
                self._run(spec)
            except Exception as exc:
                log.exception("task %s: executor error", spec.task_id)
                self._emit(spec.task_id, "failed", f"executor error: {type(exc).__name__}: {exc}")

    def _give_back(self, spec: TaskSpec) -> None:
        try:
            self.queue.put(spec)
        except Exception as exc:
            self._emit(spec.task_id, "failed", f"{STOPPED} before the task started ({exc})")

    def _queue_says_canceled(self, task_id: str) -> bool:
        try:
            return self.queue.is_canceled(task_id)
        except Exception:
            log.exception("could not read the cancel mark of task %s", task_id)
            return False

    def _output_dir(self, spec: TaskSpec) -> Path:
        path = Path(spec.output_dir)
        return (path if path.is_absolute() else self.settings.data_dir / path).resolve()

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.extra_env)
        env["PYTHONUNBUFFERED"] = "1"
        # The child must import `services` even when this checkout is not installed.
        root = str(Path(services.__file__).resolve().parent.parent)
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join([*paths, root] if root not in paths else paths)
        return env

    def _run(self, spec: TaskSpec) -> None:
        task_id = spec.task_id
        if self._queue_says_canceled(task_id):
            self._emit(task_id, "failed", CANCELED)
            return
        output_dir = self._output_dir(spec)
        with self._lock:
            holder = self._dirs.get(output_dir)
            duplicate = task_id in self._dirs.values()
            if holder is None and not duplicate:
                self._dirs[output_dir] = task_id
        if duplicate:  # delivered twice: the running copy reports; this one must not
            log.error("task %s is already running here; dropping the duplicate", task_id)
            return
        if holder is not None:
            self._emit(task_id, "failed", f"output directory {output_dir} is in use by {holder}")
            return
        try:
            self._launch(spec, output_dir)
        finally:
            with self._lock:
                self._dirs.pop(output_dir, None)

    def _launch(self, spec: TaskSpec, output_dir: Path) -> None:
        task_id = spec.task_id
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / RESULT_FILE).unlink(missing_ok=True)
        spec = spec.model_copy(
            update={
                "output_dir": str(output_dir),
                "proxy_address": spec.proxy_address or self.settings.proxy_address,
            }
        )
        spec_path = output_dir / SPEC_FILE
        write_atomic(spec_path, spec.model_dump_json(indent=2))
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.executor.task_main", str(spec_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=output_dir,
            env=self._child_env(),
            start_new_session=True,
        )
        running = _Running(spec, proc)
        with self._lock:
            self._running[task_id] = running
        self._emit(task_id, "started", f"pid {proc.pid} on {socket.gethostname()}")
        assert proc.stdout is not None
        pump = LogPump(proc.stdout, output_dir / LOG_FILE)
        pump.start()
        try:
            self._supervise(running, pump)
        finally:
            running.mark_exited()
            running.signal(signal.SIGKILL)  # leftovers of the task's process group, if any
            if proc.returncode is None:  # only if supervising itself failed
                proc.wait(PUMP_JOIN_S)
            with self._lock:
                self._running.pop(task_id, None)
            pump.join(PUMP_JOIN_S)
            self._flush_logs(task_id, pump)
        self._report_end(running, output_dir)

    def _supervise(self, running: _Running, pump: LogPump) -> None:
        spec, proc = running.spec, running.proc
        heartbeat_s = self.settings.heartbeat_s
        cancel_poll_s = min(1.0, heartbeat_s)
        start = time.monotonic()
        next_heartbeat = start + heartbeat_s
        next_cancel_poll = start + cancel_poll_s
        last_flush = start
        killed = False
        while True:
            try:
                proc.wait(TICK_S)
                return
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if pump.pending() and (now - last_flush >= LOG_FLUSH_S or pump.pending() > 200):
                self._flush_logs(spec.task_id, pump)
                last_flush = now
            if running.stop_reason is None:
                if self._force_stop.is_set():
                    running.request_stop(STOPPED)
                elif now - start >= spec.timeout_s:
                    running.request_stop(f"timed out after {spec.timeout_s:g}s")
                elif now >= next_cancel_poll:
                    next_cancel_poll = now + cancel_poll_s
                    if self._queue_says_canceled(spec.task_id):
                        running.request_stop(CANCELED)
            elif not killed and now - running.stop_requested_at >= self.settings.kill_grace_s:
                running.signal(signal.SIGKILL)
                killed = True
            if now >= next_heartbeat:
                next_heartbeat = now + heartbeat_s
                self._emit(spec.task_id, "heartbeat", f"running for {now - start:.0f}s")

    def _flush_logs(self, task_id: str, pump: LogPump) -> None:
        while batch := pump.take():
            self._emit(task_id, "log", "\n".join(batch))

    def _report_end(self, running: _Running, output_dir: Path) -> None:
        task_id = running.spec.task_id
        returncode = running.proc.returncode
        if running.stop_reason is not None:
            self._emit(task_id, "failed", running.stop_reason)
            return
        result = read_result(output_dir)
        if returncode == 0 and result is not None and result.ok:
            self._emit(task_id, "success", outputs=result.outputs)
        elif result is not None and not result.ok:
            self._emit(task_id, "failed", result.error or exit_reason(returncode))
        elif returncode == 0:
            self._emit(task_id, "failed", "task process exited without writing its result")
        else:
            self._emit(task_id, "failed", exit_reason(returncode))
