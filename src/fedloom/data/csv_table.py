"""The one CSV parser of fedloom: records, headers, ids and numeric cells.

Used by the flow's upload (``fedloom.data.upload``), by the Reader component and by
:func:`fedloom.data.read_fate_csv`. Records are stripped of surrounding blanks and blank lines are
skipped. Every error names the 1-based line of the file and, for a bad cell, its column — these
messages are for the party that owns the file only (they carry ids and values).

Missing cells: the markers in :data:`MISSING_MARKERS` (empty, ``NA``, ``nan``, ``null``,
``None``, any case) read as NaN when the caller allows missing values, for DataTransform to fill;
any other non-numeric or infinite cell is an error.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO


class CsvFormatError(ValueError):
    """The CSV does not have the expected shape or contains a bad cell (line and column named)."""


MISSING_MARKERS = frozenset({"", "na", "nan", "null", "none"})
"""Cells (stripped, lower-cased) read as missing values."""

Record = tuple[int, list[str]]
"""A non-blank record: its 1-based line in the file and its stripped cells."""


def prefix(source: str) -> str:
    """``"source: "`` for error messages, or nothing."""
    return f"{source}: " if source else ""


def read_records(handle: TextIO, delimiter: str = ",", source: str = "") -> Iterator[Record]:
    """The non-blank records of a CSV, cells stripped; malformed CSV names its line."""
    check_delimiter("delimiter", delimiter)
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                yield reader.line_num, [cell.strip() for cell in record]
    except csv.Error as exc:
        where = f"{prefix(source)}line {reader.line_num}"
        raise CsvFormatError(f"{where}: malformed CSV ({exc})") from None
    except UnicodeDecodeError as exc:
        where = prefix(source)
        raise CsvFormatError(f"{where}the file is not UTF-8 text ({exc.reason})") from None


def read_lines(handle: TextIO, source: str = "") -> Iterator[tuple[int, str]]:
    """The non-blank raw lines of a text file (line ending and surrounding blanks removed)."""
    line = 0
    try:
        for line, text in enumerate(handle, start=1):
            if text.strip():
                yield line, text.strip()
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            f"{prefix(source)}line {line + 1}: the file is not UTF-8 text ({exc.reason})"
        ) from None


def check_delimiter(name: str, value: object) -> str:
    """``value`` if it is one character other than a quote or line break."""
    if not isinstance(value, str) or len(value) != 1 or value in '"\r\n':
        raise CsvFormatError(f"{name} must be one character (not a quote or line break): {value!r}")
    return value


def check_header(header: list[str], line: int, source: str = "") -> None:
    """At least an id and one more column, every name non-empty and unique."""
    where = f"{prefix(source)}line {line}"
    if len(header) < 2:
        raise CsvFormatError(f"{where}: the header needs an id column and at least one more")
    for i, name in enumerate(header):
        if not name:
            raise CsvFormatError(f"{where}: column {i + 1} of the header has no name")
        if header.index(name) != i:
            raise CsvFormatError(f"{where}: column {name!r} appears twice in the header")


def generated_header(width: int, id_name: str = "id") -> list[str]:
    """``id, x0, x1, ...`` for a table of ``width`` columns without a header line."""
    return [id_name, *(f"x{j}" for j in range(width - 1))]


def parse_number(text: str, where: str, allow_missing: bool) -> float:
    """The finite number in ``text``; NaN for a missing marker when allowed."""
    if allow_missing and text.strip().lower() in MISSING_MARKERS:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise CsvFormatError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CsvFormatError(f"{where}: {text!r} is not finite")
    return value


def parse_label(text: str, where: str) -> float:
    """A label cell: 0 or 1 (fedloom's modules are binary classifiers)."""
    value = parse_number(text, where, allow_missing=False)
    if value not in (0.0, 1.0):
        raise CsvFormatError(f"{where}: label {text!r} is not 0 or 1")
    return value


@dataclass
class IdChecker:
    """Sample ids must be non-empty and unique; remembers the line of each id."""

    column: str
    source: str = ""
    seen: dict[str, int] = field(default_factory=dict)

    def check(self, sample_id: str, line: int) -> str:
        """``sample_id`` if it is new and non-empty."""
        where = f"{prefix(self.source)}line {line}, column {self.column!r}"
        if not sample_id:
            raise CsvFormatError(f"{where}: empty id")
        first = self.seen.setdefault(sample_id, line)
        if first != line:
            raise CsvFormatError(f"{where}: duplicate id {sample_id!r} (first on line {first})")
        return sample_id


@dataclass(frozen=True)
class DenseLayout:
    """Where the id, the label and the values are in a dense table's records."""

    header: list[str]
    id_at: int
    label_at: int | None
    value_at: list[int]

    @property
    def id_column(self) -> str:
        """The id column's name."""
        return self.header[self.id_at]

    @property
    def label_column(self) -> str | None:
        """The label column's name, if there is one."""
        return None if self.label_at is None else self.header[self.label_at]


def dense_layout(
    header: list[str],
    line: int,
    id_column: str | int | None = None,
    label_column: str | None = None,
    source: str = "",
) -> DenseLayout:
    """Check ``header`` (from ``line``) and place the id column (default: the first) and the
    optional label column."""
    check_header(header, line, source)
    where = prefix(source)
    if id_column is None:
        id_at = 0
    elif isinstance(id_column, int) and not isinstance(id_column, bool):
        if not 0 <= id_column < len(header):
            raise CsvFormatError(f"{where}id column {id_column} is outside the header")
        id_at = id_column
    elif isinstance(id_column, str) and id_column in header:
        id_at = header.index(id_column)
    else:
        raise CsvFormatError(f"{where}no id column {id_column!r} in the header {header}")
    label_at = None
    if label_column is not None:
        if label_column not in header:
            raise CsvFormatError(f"{where}no label column {label_column!r} in the header {header}")
        label_at = header.index(label_column)
        if label_at == id_at:
            raise CsvFormatError(f"{where}column {label_column!r} cannot be both id and label")
    value_at = [j for j in range(len(header)) if j != id_at]
    return DenseLayout(header, id_at, label_at, value_at)


@dataclass(frozen=True)
class DenseRow:
    """One checked data row: its line, id, stripped cells and the numbers of its value columns
    (the label column included, in header order)."""

    line: int
    sample_id: str
    cells: list[str]
    values: list[float]


def dense_rows(
    records: Iterable[Record],
    layout: DenseLayout,
    *,
    allow_missing: bool = True,
    source: str = "",
) -> Iterator[DenseRow]:
    """Check each record against ``layout``: field count, id, numbers, label 0/1."""
    ids = IdChecker(layout.id_column, source)
    header = layout.header
    for line, cells in records:
        where = f"{prefix(source)}line {line}"
        if len(cells) != len(header):
            raise CsvFormatError(f"{where} has {len(cells)} fields, the header has {len(header)}")
        sample_id = ids.check(cells[layout.id_at], line)
        values = []
        for j in layout.value_at:
            at = f"{where}, column {header[j]!r}"
            if j == layout.label_at:
                values.append(parse_label(cells[j], at))
            else:
                values.append(parse_number(cells[j], at, allow_missing))
        yield DenseRow(line, sample_id, cells, values)


def split_id(text: str, id_delimiter: str) -> tuple[str, str]:
    """A non-dense line ``id<id_delimiter>rest`` as ``(id, rest)`` (rest may be empty)."""
    sample_id, _, rest = text.partition(id_delimiter)
    return sample_id.strip(), rest.strip()
