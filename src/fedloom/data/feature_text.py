"""Sparse and tag rows: the features text after the id, and the stored two-column table.

A sparse/tag table is kept as rows ``id, text`` (a two-column CSV, header ``<id name>,features``)
and parsed by DataTransform, which learns the columns. ``text`` is split by the table's
``delimiter`` (empty tokens are skipped, so runs of blanks are one separator):

- ``sparse`` (svmlight-like): ``[label] idx:value idx:value ...`` — ``idx`` a non-negative
  integer (column ``idx`` of the dense output), absent indices are 0;
- ``tag``: ``[label] tag tag ...`` — a tag present is 1, absent 0; with ``tag_with_value``,
  ``tag<tag_value_delimitor>value`` pairs.

The label, when ``with_label``, is the first token. Values may be missing markers (NaN).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fedloom.data.csv_table import (
    CsvFormatError,
    IdChecker,
    parse_label,
    parse_number,
    prefix,
    read_records,
)
from fedloom.data.table_format import TableFormat

MAX_SPARSE_INDEX = (1 << 20) - 1
"""The largest sparse index (fedloom builds dense feature matrices)."""
TEXT_COLUMN = "features"
"""The name of the text column of a stored sparse/tag table."""
SPARSE_PAIR = ":"
"""Separates index and value in a sparse token (fixed, as in FATE's sparse format)."""


@dataclass(frozen=True)
class ParsedRow:
    """A parsed features text: its label (if any) and its entries (sparse index or tag → value)."""

    label: float | None
    entries: dict[int, float] | dict[str, float]


def tokens(text: str, delimiter: str) -> list[str]:
    """The non-empty tokens of ``text``."""
    return [t.strip() for t in text.split(delimiter) if t.strip()]


def parse_row(text: str, fmt: TableFormat, where: str) -> ParsedRow:
    """Parse one features text of a sparse or tag table; errors start with ``where`` (e.g.
    ``line 3``) and name the column (index or tag) or the token."""
    items = tokens(text, fmt.delimiter)
    label = None
    if fmt.with_label:
        if not items:
            raise CsvFormatError(f"{where}: no label (with_label is true)")
        label = parse_label(items.pop(0), f"{where}, label")
    if fmt.input_format == "sparse":
        return ParsedRow(label, _sparse(items, where))
    if fmt.input_format == "tag":
        return ParsedRow(label, _tags(items, fmt, where))
    raise CsvFormatError(f"{where}: {fmt.input_format!r} rows are not features text")


def _sparse(items: list[str], where: str) -> dict[int, float]:
    entries: dict[int, float] = {}
    for n, item in enumerate(items, start=1):
        index_text, sep, value_text = item.partition(SPARSE_PAIR)
        if not sep:
            raise CsvFormatError(f"{where}, token {n}: {item!r} is not index{SPARSE_PAIR}value")
        try:
            index = int(index_text)
        except ValueError:
            index = -1
        if not 0 <= index <= MAX_SPARSE_INDEX:
            raise CsvFormatError(
                f"{where}, token {n}: index {index_text!r} is not an integer from 0 to "
                f"{MAX_SPARSE_INDEX}"
            )
        if index in entries:
            raise CsvFormatError(f"{where}, column {index}: index given twice")
        entries[index] = parse_number(value_text, f"{where}, column {index}", True)
    return entries


def _tags(items: list[str], fmt: TableFormat, where: str) -> dict[str, float]:
    entries: dict[str, float] = {}
    for n, item in enumerate(items, start=1):
        if not fmt.tag_with_value:
            entries[item] = 1.0
            continue
        tag, sep, value_text = item.partition(fmt.tag_value_delimitor)
        tag = tag.strip()
        if not sep or not tag:
            raise CsvFormatError(
                f"{where}, token {n}: {item!r} is not tag{fmt.tag_value_delimitor}value"
            )
        if tag in entries:
            raise CsvFormatError(f"{where}, column {tag!r}: tag given twice")
        entries[tag] = parse_number(value_text, f"{where}, column {tag!r}", True)
    return entries


@dataclass(frozen=True)
class TextTable:
    """A stored sparse/tag table: the id column's name, the ids and their features texts."""

    id_name: str
    ids: list[str]
    texts: list[str]


def read_text_table(path: str | Path) -> TextTable:
    """Read a stored two-column ``id, text`` table (written by :func:`write_text_table` or by
    the upload)."""
    path = Path(path)
    source = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise CsvFormatError(f"{source}: cannot read the file ({exc.strerror})") from None
    with handle:
        records = read_records(handle, ",", source)
        first = next(records, None)
        if first is None or len(first[1]) != 2 or not first[1][0]:
            raise CsvFormatError(
                f"{source}: not a stored sparse/tag table (header id,{TEXT_COLUMN})"
            )
        ids_check = IdChecker(first[1][0], source)
        ids: list[str] = []
        texts: list[str] = []
        for line, cells in records:
            if len(cells) != 2:
                raise CsvFormatError(f"{prefix(source)}line {line} has {len(cells)} fields, not 2")
            ids.append(ids_check.check(cells[0], line))
            texts.append(cells[1])
    return TextTable(first[1][0], ids, texts)


def write_text_table(path: str | Path, table: TextTable) -> Path:
    """Write ``table`` as a two-column CSV; returns the path."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([table.id_name, TEXT_COLUMN])
        writer.writerows(zip(table.ids, table.texts, strict=True))
    return path


def iter_text_rows(table: TextTable, fmt: TableFormat) -> Iterator[tuple[str, ParsedRow]]:
    """Each id with its parsed features text; errors name the row and id (local only)."""
    for n, (sample_id, text) in enumerate(zip(table.ids, table.texts, strict=True), start=1):
        yield sample_id, parse_row(text, fmt, f"row {n} (id {sample_id!r})")
