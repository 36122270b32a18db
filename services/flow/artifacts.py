"""Reading a task's output artifacts for the REST API (``fedloom.components.io``; no pickle)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fedloom.components import ComponentError
from fedloom.components.io import load_table, load_table_with_meta
from fedloom.data import Table


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
    """A data artifact as CSV text, a chunk of rows at a time.

    The columns are the table's meta ``columns`` when it lists them (FATE's prediction
    columns: ``id, label, predict_result, predict_score, predict_detail, type``), each taken
    from the ids, the labels, a header column, a per-row list in the meta or a constant string
    in the meta; otherwise ``id``, ``label`` (when there are labels) and the header. Missing
    values are empty cells. The table is read and checked before the first line is produced,
    so a bad file fails the request instead of cutting a download short."""
    table, meta = load_table_with_meta(path)
    rows_count = len(table)
    columns = meta.get("columns")
    if not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
        columns = ["id", *(["label"] if table.labels is not None else []), *table.header]
    getters = [_column(str(path), name, table, meta) for name in columns]

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for i in range(rows_count):
            writer.writerow([get(i) for get in getters])
            if buffer.tell() > 1 << 16:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return rows()


def _column(path: str, name: str, table: Table, meta: dict[str, Any]) -> Callable[[int], str]:
    """How to render column ``name`` of row i."""
    value = meta.get(name)
    labels = table.labels
    if name == "id":
        return table.ids.__getitem__
    if name == "label" and labels is not None:
        return lambda i: _text(float(labels[i]))
    if name in table.header:
        j = table.header.index(name)
        return lambda i: _text(float(table.features[i, j]))
    if isinstance(value, list) and len(value) == len(table):
        values: list[Any] = value
        return lambda i: _cell_text(values[i])
    if isinstance(value, str):
        text: str = value
        return lambda i: text
    raise ComponentError(f"{path}: column {name!r} is neither in the table nor in its meta")


def _text(value: float) -> str:
    if not math.isfinite(value):
        return ""
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _cell_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return "" if value is None else str(value)
