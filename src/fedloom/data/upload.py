"""Checking and normalising an uploaded table in one streaming pass (FATE's upload options).

Options (FATE names): ``head`` (the first line is a header), ``id_delimiter`` (splits the id
from the rest of a line; for dense tables it is the CSV delimiter; default: the meta's
``delimiter``), ``extend_sid`` (the file has no id column: a sample id is generated and
prepended, as a uuid, or as 0, 1, 2, ... with ``auto_increasing_sid``), and the table format of
``meta`` (:class:`fedloom.data.table_format.TableFormat`). fedloom's own ``id_column`` (which
column of a dense table holds the ids) and ``label_column`` (a dense table's 0/1 label column,
checked at upload; same as ``meta`` ``with_label`` + ``label_name``) complete them.

The stored copy is always a comma-separated CSV with a header line, cells stripped, blank lines
dropped:

- dense: one column per field (header generated as ``id, x0, x1, ...`` when the upload had
  none; ``sid`` first with ``extend_sid``);
- sparse / tag: two columns ``<id name>, features``, the features text of each line kept as it
  was (checked here, parsed by DataTransform).

Every error names the 1-based line of the uploaded file and, for a bad cell, its column.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from fedloom.data.csv_table import (
    CsvFormatError,
    IdChecker,
    Record,
    dense_layout,
    dense_rows,
    generated_header,
    read_lines,
    read_records,
    split_id,
)
from fedloom.data.feature_text import TEXT_COLUMN, parse_row
from fedloom.data.table_format import TableFormat, TableOptionError, one_char

SID_NAME = "sid"
"""The name of a generated sample id column."""


def meta_path(table_path: Path) -> Path:
    """Where the upload meta of a stored table is kept: ``<name>.meta.json`` beside it."""
    return table_path.with_suffix(".meta.json")


@dataclass(frozen=True)
class UploadSpec:
    """The options of one upload (checked on construction; errors name the option)."""

    head: bool = True
    id_column: str | None = None
    label_column: str | None = None
    extend_sid: bool = False
    auto_increasing_sid: bool = False
    id_delimiter: str | None = None
    table_format: TableFormat = field(default_factory=TableFormat)

    def __post_init__(self) -> None:
        fmt = self.table_format
        if self.id_delimiter is not None:
            one_char("id_delimiter", self.id_delimiter)
            if fmt.dense and "delimiter" in fmt.given and fmt.delimiter != self.id_delimiter:
                raise TableOptionError(
                    "id_delimiter", "a dense table has one delimiter: differs from meta.delimiter"
                )
        if self.auto_increasing_sid and not self.extend_sid:
            raise TableOptionError("auto_increasing_sid", "only applies with extend_sid")
        if self.extend_sid and self.id_column is not None:
            raise TableOptionError("id_column", "with extend_sid the generated sid is the id")
        if not fmt.dense:
            for name in ("id_column", "label_column"):
                if getattr(self, name) is not None:
                    raise TableOptionError(
                        name,
                        f"only for dense tables; a {fmt.input_format} row is id then features "
                        "text (label: meta.with_label)",
                    )
        elif self.label_column and fmt.with_label and self.label_column != fmt.label_name:
            raise TableOptionError(
                "label_column", f"differs from meta.label_name {fmt.label_name!r}"
            )

    @property
    def delimiter(self) -> str:
        """What splits the id from the rest (the CSV delimiter of a dense table)."""
        return self.id_delimiter or self.table_format.delimiter

    @property
    def label(self) -> str | None:
        """The label column of a dense table, if any."""
        fmt = self.table_format
        return self.label_column or (fmt.label_name if fmt.with_label and fmt.dense else None)

    def to_meta(self) -> dict[str, Any]:
        """What the table store keeps: the format plus the upload options."""
        fmt = self.table_format
        return {
            **fmt.to_meta(),
            "delimiter": self.delimiter if fmt.dense else fmt.delimiter,
            "head": self.head,
            "id_delimiter": self.delimiter,
            "extend_sid": self.extend_sid,
            "auto_increasing_sid": self.auto_increasing_sid,
        }


@dataclass(frozen=True)
class UploadedTable:
    """What the upload contained (``header`` is the stored file's header)."""

    header: list[str]
    rows: int
    id_column: str
    label_column: str | None
    meta: dict[str, Any]


def normalise_upload(src: Path, dst: Path, spec: UploadSpec) -> UploadedTable:
    """Check ``src`` and write the normalised table to ``dst`` (the caller removes ``dst`` on
    error). Raises CsvFormatError naming line and column."""
    try:
        with (
            src.open(newline="", encoding="utf-8-sig") as fin,
            dst.open("w", newline="", encoding="utf-8") as fout,
        ):
            writer = csv.writer(fout)
            if spec.table_format.dense:
                return _dense(read_records(fin, spec.delimiter), writer, spec)
            return _text(read_lines(fin), writer, spec)
    except UnicodeDecodeError as exc:
        raise CsvFormatError(f"the file is not UTF-8 text ({exc.reason})") from None


def _sids(spec: UploadSpec) -> Iterator[str]:
    n = 0
    while True:
        yield str(n) if spec.auto_increasing_sid else uuid.uuid4().hex
        n += 1


def _dense(records: Iterator[Record], writer: Any, spec: UploadSpec) -> UploadedTable:
    first = next(records, None)
    if first is None:
        raise CsvFormatError("the file is empty")
    if spec.head:
        header, pending = first[1], []
    else:
        header, pending = generated_header(len(first[1])), [first]
    if spec.extend_sid:
        sids = _sids(spec)
        records = ((line, [next(sids), *cells]) for line, cells in records)
        pending = [(line, [next(sids), *cells]) for line, cells in pending]
        header = header if spec.head else generated_header(len(first[1]) + 1)[1:]
        header = [SID_NAME, *header]
    layout = dense_layout(header, first[0], spec.id_column, spec.label)
    writer.writerow(header)
    rows = 0
    for row in dense_rows(chain(pending, records), layout):
        writer.writerow(row.cells)
        rows += 1
    if rows == 0:
        raise CsvFormatError("the table has no data rows")
    return UploadedTable(header, rows, layout.id_column, layout.label_column, spec.to_meta())


def _text(lines: Iterator[tuple[int, str]], writer: Any, spec: UploadSpec) -> UploadedTable:
    fmt = spec.table_format
    id_name = SID_NAME if spec.extend_sid else "id"
    if spec.head:
        head = next(lines, None)
        if head is None:
            raise CsvFormatError("the file is empty")
        named, _ = split_id(head[1], spec.delimiter)
        id_name = SID_NAME if spec.extend_sid else named or id_name
    header = [id_name, TEXT_COLUMN]
    writer.writerow(header)
    ids = IdChecker(id_name)
    sids = _sids(spec)
    rows = 0
    for line, text in lines:
        if spec.extend_sid:
            sample_id, rest = next(sids), text
        else:
            sample_id, rest = split_id(text, spec.delimiter)
        ids.check(sample_id, line)
        parse_row(rest, fmt, f"line {line}")
        writer.writerow([sample_id, rest])
        rows += 1
    if rows == 0:
        raise CsvFormatError("the table has no data rows" if spec.head else "the file is empty")
    return UploadedTable(header, rows, id_name, None, spec.to_meta())
