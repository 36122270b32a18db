"""Reading a task's output artifacts for the REST API (``fedloom.components.io``; no pickle)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fedloom.components.io import load_table, load_table_with_meta


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


def csv_lines(path: str | Path) -> Iterator[str]:
    """A data artifact as CSV text, a chunk of rows at a time: ``id``, ``label`` (when the
    table has labels), every column of its header, then the columns its meta adds per row
    (``row_columns``: name → one value per row, e.g. ``predict_detail``) and for all rows
    (``type``). Missing values are empty cells. The table is read (and checked) before the
    first line is produced, so a bad file fails the request instead of a cut-off download."""
    table, meta = load_table_with_meta(path)
    raw = meta.get("row_columns")
    per_row: dict[str, Any] = raw if isinstance(raw, dict) else {}
    extra = {k: v for k, v in per_row.items() if isinstance(v, list) and len(v) == len(table)}
    constant = {k: meta[k] for k in ("type",) if isinstance(meta.get(k), str)}
    header = ["id", *(["label"] if table.labels is not None else []), *table.header]
    header += [*extra, *constant]

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        for i, sample_id in enumerate(table.ids):
            row: list[Any] = [sample_id]
            if table.labels is not None:
                row.append(_text(float(table.labels[i])))
            row.extend(_text(float(v)) for v in table.features[i])
            row.extend(_cell_text(values[i]) for values in extra.values())
            row.extend(constant.values())
            writer.writerow(row)
            if buffer.tell() > 1 << 16:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return rows()


def _text(value: float) -> str:
    if not math.isfinite(value):
        return ""
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _cell_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return "" if value is None else str(value)
