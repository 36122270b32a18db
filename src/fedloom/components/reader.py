"""Reader: an uploaded table → a data table for DataTransform, with the table's format.

The table's format (FATE's upload meta: input format, delimiters, label) comes from the input
artifact's ``meta["format"]`` or, failing that, from the ``<name>.meta.json`` the upload wrote
beside the table file; a table without either is dense.

- **dense**: every column but the id column is read as a number by the one CSV parser
  (:mod:`fedloom.data.csv_table`), the label column included (DataTransform picks the label
  later). Missing markers (empty, ``NA``, ``null``, ``None``, ``nan``, any case) become NaN, for
  DataTransform to fill or refuse; any other non-numeric cell is an error naming its line and
  column.
- **sparse / tag**: the rows are passed through unparsed. The output ``data`` holds the ids and no
  feature columns; its meta names ``raw_rows``, a two-column ``id, features`` CSV written beside
  it (:func:`fedloom.data.write_text_table`), which DataTransform parses by ``input_format``.

The output meta carries ``format`` (the table format) and ``sid_name`` (the id column's name).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import StrictStr

from fedloom.components.base import (
    PARTIES,
    ComponentDef,
    ComponentError,
    FateParam,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.io import save_table
from fedloom.data import (
    MISSING_MARKERS,
    CsvFormatError,
    Table,
    TableFormat,
    TableOptionError,
    meta_path,
    read_dense,
    read_text_table,
    stored_format,
    write_text_table,
)

__all__ = ["MISSING_MARKERS", "RAW_ROWS", "READER", "ReaderParam", "read_csv_table"]

RAW_ROWS = "data.rows.csv"
"""The file of a sparse/tag table's rows, beside the Reader's ``data`` output."""


class TableRef(FateParam):
    """A table registered at the party: ``{"name": ..., "namespace": ...}``."""

    name: StrictStr
    namespace: StrictStr


class ReaderParam(FateParam):
    """FATE's Reader parameters: which of the party's tables to read."""

    table: TableRef


def read_csv_table(path: str | Path, meta: dict[str, Any] | None = None) -> Table:
    """Parse a dense table file with its options ``meta``.

    ``meta``: ``id_column`` (name or 0-based index; default the first column), ``header``
    (True: the first line is the header — the default; a list of names: the first line is
    the header and must equal it; False: no header line, columns are named ``x0, x1, ...``
    after the id) and ``delimiter`` (default ``,``).
    """
    meta = meta or {}
    delimiter = meta.get("delimiter", meta.get("delimitor", ","))
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ComponentError(f"table option delimiter must be one character, got {delimiter!r}")
    header = meta.get("header", meta.get("head", True))
    if not isinstance(header, bool) and not (
        isinstance(header, list) and all(isinstance(h, str) for h in header)
    ):
        raise ComponentError(f"table option header must be true, false or names, got {header!r}")
    id_column = meta.get("id_column")
    if id_column is not None and not isinstance(id_column, str | int):
        raise ComponentError(f"table option id_column must be a name or an index: {id_column!r}")
    return read_dense(path, delimiter=delimiter, head=header, id_column=id_column)


def table_format(path: Path, meta: dict[str, Any]) -> TableFormat:
    """The table's format: ``meta["format"]``, else the upload's meta file, else dense."""
    recorded = meta.get("format")
    if recorded is None:
        stored = meta_path(path)
        if not stored.exists():
            return TableFormat()
        try:
            recorded = json.loads(stored.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ComponentError(f"{stored}: unreadable table meta ({exc})") from None
    if not isinstance(recorded, dict):
        raise ComponentError("the table's format must be a JSON object")
    try:
        return stored_format(recorded)
    except TableOptionError as exc:
        raise ComponentError(f"the table's format is invalid: {exc}") from None


def run_reader(call: TaskCall) -> TaskResult:
    """Reader at the guest or a host: read input ``table``, write it as data output ``data``."""
    artifact = call.input("table", "table", "the uploaded table named by the 'table' parameter")
    fmt = table_format(artifact.path, artifact.meta)
    meta: dict[str, Any] = {"source": "Reader", "file": str(artifact.path)}
    meta["format"] = fmt.to_meta()
    if fmt.dense:
        table = read_csv_table(artifact.path, artifact.meta)
        meta["sid_name"] = _sid_name(artifact.meta)
        missing = int(np.isnan(table.features).sum())
        metrics: dict[str, Any] = {
            "count": len(table),
            "columns": len(table.header),
            "missing_cells": missing,
        }
    else:
        rows = read_text_table(artifact.path)
        if not rows.ids:
            raise CsvFormatError(f"{artifact.path}: no data rows")
        call.output_dir.mkdir(parents=True, exist_ok=True)
        write_text_table(call.output_dir / RAW_ROWS, rows)
        table = Table(rows.ids, [], np.zeros((len(rows.ids), 0)))
        meta.update(sid_name=rows.id_name, raw_rows=RAW_ROWS)
        metrics = {"count": len(table), "input_format": fmt.input_format}
    out = save_table(call.output_dir / "data.npz", table, meta)
    return TaskResult(data={"data": out}, metrics=metrics)


def _sid_name(meta: dict[str, Any]) -> str:
    id_column, header = meta.get("id_column"), meta.get("header")
    if isinstance(id_column, str):
        return id_column
    if isinstance(header, list) and header:
        index = id_column if isinstance(id_column, int) and 0 <= id_column < len(header) else 0
        return str(header[index])
    return "id"


READER = ComponentDef(
    module="Reader",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=ReaderParam,
    runners=same_runner(run_reader, PARTIES),
    outputs=frozenset({"data"}),
)
"""The Reader module's declaration."""
