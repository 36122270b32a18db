"""Validating and normalising an uploaded CSV table in one streaming pass.

The stored copy always has a header line (generated as ``id, x0, x1, ...`` when the upload had
none), cells stripped of surrounding blanks, and blank lines dropped. Every error names the
1-based line of the uploaded file and, for a bad cell, its column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class TableFormatError(ValueError):
    """The upload is not a valid table (the message names line and column)."""


class _Reader(Protocol):
    @property
    def line_num(self) -> int: ...

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


class _Writer(Protocol):
    def writerow(self, row: Iterable[str], /) -> Any: ...


@dataclass(frozen=True)
class ParsedTable:
    """What the upload contained."""

    header: list[str]
    rows: int
    id_column: str
    label_column: str | None


def normalise_csv(
    src: Path,
    dst: Path,
    *,
    head: bool = True,
    id_column: str | None = None,
    label_column: str | None = None,
) -> ParsedTable:
    """Check ``src`` (ids unique and non-empty, other cells finite numbers, label 0/1) and
    write the normalised table to ``dst``."""
    try:
        with src.open(newline="", encoding="utf-8-sig") as fin, dst.open("w", newline="") as fout:
            return _copy(csv.reader(fin), csv.writer(fout), head, id_column, label_column)
    except UnicodeDecodeError as exc:
        raise TableFormatError(f"the file is not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise TableFormatError(f"malformed CSV: {exc}") from None


def _copy(
    reader: _Reader,
    writer: _Writer,
    head: bool,
    id_column: str | None,
    label_column: str | None,
) -> ParsedTable:
    first = _next_record(reader)
    if first is None:
        raise TableFormatError("the file is empty")
    if head:
        header = first
        pending: list[str] | None = None
    else:
        header = ["id", *(f"x{i}" for i in range(len(first) - 1))]
        pending = first
    _check_header(header)
    id_column = id_column or header[0]
    if id_column not in header:
        raise TableFormatError(f"no id column {id_column!r} in the header {header}")
    if label_column is not None and label_column not in header:
        raise TableFormatError(f"no label column {label_column!r} in the header {header}")
    if label_column == id_column:
        raise TableFormatError(f"column {id_column!r} cannot be both the id and the label")
    id_at = header.index(id_column)
    label_at = header.index(label_column) if label_column is not None else -1
    writer.writerow(header)
    seen: dict[str, int] = {}
    rows = 0
    record = pending
    line = reader.line_num
    while True:
        if record is None:
            record = _next_record(reader)
            line = reader.line_num
            if record is None:
                break
        _check_row(record, line, header, id_at, label_at, seen)
        writer.writerow(record)
        rows += 1
        record = None
    if rows == 0:
        raise TableFormatError("the table has no data rows")
    return ParsedTable(header, rows, id_column, label_column)


def _next_record(reader: _Reader) -> list[str] | None:
    for record in reader:
        if record and any(cell.strip() for cell in record):
            return [cell.strip() for cell in record]
    return None


def _check_header(header: list[str]) -> None:
    if len(header) < 2:
        raise TableFormatError("line 1: the table needs an id column and at least one more")
    for i, name in enumerate(header):
        if not name:
            raise TableFormatError(f"line 1: column {i + 1} has an empty name")
        if header.index(name) != i:
            raise TableFormatError(f"line 1: column {name!r} appears twice in the header")


def _check_row(
    record: list[str],
    line: int,
    header: list[str],
    id_at: int,
    label_at: int,
    seen: dict[str, int],
) -> None:
    if len(record) != len(header):
        raise TableFormatError(
            f"line {line}: {len(record)} fields, but the header has {len(header)}"
        )
    sample_id = record[id_at]
    if not sample_id:
        raise TableFormatError(f"line {line}, column {header[id_at]!r}: empty id")
    if sample_id in seen:
        raise TableFormatError(
            f"line {line}, column {header[id_at]!r}: duplicate id {sample_id!r} "
            f"(first on line {seen[sample_id]})"
        )
    seen[sample_id] = line
    for i, cell in enumerate(record):
        if i == id_at:
            continue
        try:
            value = float(cell)
        except ValueError:
            raise TableFormatError(
                f"line {line}, column {header[i]!r}: {cell!r} is not a number"
            ) from None
        if not math.isfinite(value):
            raise TableFormatError(f"line {line}, column {header[i]!r}: {cell!r} is not finite")
        if i == label_at and value not in (0.0, 1.0):
            raise TableFormatError(
                f"line {line}, column {header[i]!r}: label {cell!r} is not 0 or 1"
            )
