"""Reader: the uploaded CSV of a table → a typed data table (ids + numeric columns).

Every column but the id column is read as a number, the label column included (DataTransform
picks the label later). Empty cells and FATE's missing markers (``NA``, ``null``, ``None``,
``nan``, any case) become NaN, for DataTransform to fill or refuse. Any other non-numeric cell
is an error naming its line and column.
"""

from __future__ import annotations

import csv
import math
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
from fedloom.data import CsvFormatError, Table

MISSING_MARKERS = frozenset({"", "na", "nan", "null", "none"})
"""Cells (stripped, lower-cased) read as missing values."""


class TableRef(FateParam):
    """A table registered at the party: ``{"name": ..., "namespace": ...}``."""

    name: StrictStr
    namespace: StrictStr


class ReaderParam(FateParam):
    """FATE's Reader parameters: which of the party's tables to read."""

    table: TableRef


def read_csv_table(path: str | Path, meta: dict[str, Any] | None = None) -> Table:
    """Parse an uploaded CSV with its upload options ``meta``.

    ``meta``: ``id_column`` (name or 0-based index; default the first column), ``header``
    (True: the first line is the header — the default; a list of names: the first line is
    the header and must equal it; False: no header line, columns are named ``x0, x1, ...``
    after the id) and ``delimiter`` (default ``,``).
    """
    path, meta = Path(path), meta or {}
    delimiter = meta.get("delimiter", meta.get("delimitor", ","))
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ComponentError(f"table option delimiter must be one character, got {delimiter!r}")
    header_option = meta.get("header", True)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ComponentError(f"cannot read table file {path}: {exc}") from exc
    with handle:
        records = (
            (line, rec) for line, rec in enumerate(csv.reader(handle, delimiter=delimiter), 1)
        )
        rows = ((line, rec) for line, rec in records if any(cell.strip() for cell in rec))
        first = next(rows, None)
        if first is None:
            raise CsvFormatError(f"{path}: the file is empty")
        if header_option is False:
            header = ["id"] + [f"x{j}" for j in range(len(first[1]) - 1)]
            pending = [first]
        else:
            header = [cell.strip() for cell in first[1]]
            pending = []
            if isinstance(header_option, list) and header != [str(h) for h in header_option]:
                raise CsvFormatError(
                    f"{path}: line {first[0]}: header {header} differs from the table's "
                    f"registered header {header_option}"
                )
        id_at = _id_index(path, header, meta.get("id_column"))
        feature_at = [j for j in range(len(header)) if j != id_at]
        ids: list[str] = []
        values: list[list[float]] = []
        seen: dict[str, int] = {}
        for line, record in [*pending, *rows]:
            if len(record) != len(header):
                raise CsvFormatError(
                    f"{path}: line {line} has {len(record)} fields, the header has {len(header)}"
                )
            sample_id = record[id_at].strip()
            if not sample_id:
                raise CsvFormatError(f"{path}: line {line}, column {header[id_at]!r}: empty id")
            if sample_id in seen:
                raise CsvFormatError(
                    f"{path}: line {line}: id {sample_id!r} already on line {seen[sample_id]}"
                )
            seen[sample_id] = line
            ids.append(sample_id)
            values.append([_cell(path, line, header[j], record[j]) for j in feature_at])
    if not ids:
        raise CsvFormatError(f"{path}: no data rows")
    features = np.asarray(values, dtype=np.float64).reshape(len(ids), len(feature_at))
    return Table(ids, [header[j] for j in feature_at], features)


def run_reader(call: TaskCall) -> TaskResult:
    """Reader at the guest or a host: parse input ``table``, write it as data output ``data``."""
    artifact = call.input("table", "table", "the uploaded table named by the 'table' parameter")
    table = read_csv_table(artifact.path, artifact.meta)
    out = save_table(
        call.output_dir / "data.npz", table, {"source": "Reader", "file": str(artifact.path)}
    )
    missing = int(np.isnan(table.features).sum())
    metrics = {"count": len(table), "columns": len(table.header), "missing_cells": missing}
    return TaskResult(data={"data": out}, metrics=metrics)


def _id_index(path: Path, header: list[str], id_column: object) -> int:
    if len(header) < 2:
        raise CsvFormatError(f"{path}: the header needs an id column and at least one more")
    if any(not h for h in header):
        raise CsvFormatError(f"{path}: column {header.index('') + 1} of the header has no name")
    duplicated = [h for h in header if header.count(h) > 1]
    if duplicated:
        raise CsvFormatError(f"{path}: column {duplicated[0]!r} appears twice in the header")
    if id_column is None:
        return 0
    if isinstance(id_column, int) and not isinstance(id_column, bool):
        if not 0 <= id_column < len(header):
            raise ComponentError(f"table option id_column {id_column} is outside the header")
        return id_column
    if isinstance(id_column, str) and id_column in header:
        return header.index(id_column)
    raise ComponentError(f"table option id_column {id_column!r} is not a column of {header}")


def _cell(path: Path, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    if text.lower() in MISSING_MARKERS:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise CsvFormatError(
            f"{path}: line {line}, column {column!r}: {cell!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise CsvFormatError(f"{path}: line {line}, column {column!r}: {cell!r} is not finite")
    return value


READER = ComponentDef(
    module="Reader",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=ReaderParam,
    runners=same_runner(run_reader, PARTIES),
    outputs=frozenset({"data"}),
)
"""The Reader module's declaration."""
