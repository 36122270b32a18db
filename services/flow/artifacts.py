"""Reading a task's output artifacts for the REST API (``fedloom.components.io``; no pickle)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from fedloom.components.io import load_table


def _cell(value: float) -> float | None:
    return value if math.isfinite(value) else None


def data_page(path: str | Path, offset: int, limit: int) -> dict[str, Any]:
    """Rows ``[offset, offset + limit)`` of a data artifact as
    ``{"header", "rows", "total", "offset", "limit"}``; a row is ``[id, (label,) features...]``
    and a missing (NaN) value is ``null``."""
    table = load_table(path)
    total = len(table.ids)
    header = ["id", *(["label"] if table.labels is not None else []), *table.header]
    rows: list[list[Any]] = []
    for i in range(offset, min(offset + limit, total)):
        row: list[Any] = [table.ids[i]]
        if table.labels is not None:
            row.append(_cell(float(table.labels[i])))
        row.extend(_cell(float(v)) for v in table.features[i])
        rows.append(row)
    return {"header": header, "rows": rows, "total": total, "offset": offset, "limit": limit}


def load_model(path: str | Path) -> Any:
    """A model artifact (JSON)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
