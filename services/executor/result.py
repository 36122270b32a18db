"""``result.json``: what a task's child process leaves for its executor."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from services.common.contracts import TaskOutputs

SPEC_FILE = "spec.json"
RESULT_FILE = "result.json"
LOG_FILE = "task.log"


class TaskResultFile(BaseModel):
    """Either ``outputs`` (the task succeeded) or ``error`` (``"Type: message"``)."""

    model_config = ConfigDict(extra="forbid")

    ok: bool
    outputs: TaskOutputs | None = None
    error: str = ""


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_result(output_dir: Path, result: TaskResultFile) -> Path:
    """Atomically write ``output_dir/result.json``."""
    path = output_dir / RESULT_FILE
    write_atomic(path, result.model_dump_json(indent=2))
    return path


def read_result(output_dir: Path) -> TaskResultFile | None:
    """The child's result, or ``None`` when it wrote none (or an unreadable one)."""
    try:
        return TaskResultFile.model_validate_json((output_dir / RESULT_FILE).read_bytes())
    except (OSError, ValidationError):
        return None
