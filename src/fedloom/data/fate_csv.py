"""Reading FATE-style CSV tables: ``id,y,x0,x1,...`` (guest) or ``id,x0,x1,...`` (host).

The first column is the sample id (kept as a string). A label column, when asked for, is taken
by name. Every other column is a numeric feature. A bad cell is reported by its 1-based line
number in the file and its column name, never silently replaced.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


class CsvFormatError(ValueError):
    """The CSV does not have the expected shape or contains a bad cell (line and column named)."""


@dataclass
class Table:
    """One party's table: ids, feature names, feature matrix and (for the guest) labels."""

    ids: list[str]
    header: list[str]
    features: NDArray[np.float64]
    labels: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, positions: list[int] | NDArray[np.int64]) -> Table:
        """The rows at ``positions``, in that order."""
        idx = np.asarray(positions, dtype=np.int64)
        return Table(
            [self.ids[i] for i in idx.tolist()],
            list(self.header),
            self.features[idx],
            None if self.labels is None else self.labels[idx],
        )


def read_fate_csv(path: str | Path, label: str | None = None) -> Table:
    """Read a FATE CSV; ``label`` names the label column (guest) or is None (host)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise CsvFormatError(f"{path}: the file is empty") from None
        if len(header) < 2:
            raise CsvFormatError(f"{path}: the header needs an id column and at least one more")
        if len(set(header)) != len(header):
            dup = next(h for h in header if header.count(h) > 1)
            raise CsvFormatError(f"{path}: column {dup!r} appears twice in the header")
        label_at = None
        if label is not None:
            if label not in header[1:]:
                raise CsvFormatError(f"{path}: no label column {label!r} in the header")
            label_at = header.index(label)
        feature_at = [i for i in range(1, len(header)) if i != label_at]
        ids: list[str] = []
        rows: list[list[float]] = []
        labels: list[float] = []
        seen: dict[str, int] = {}
        for line, record in enumerate(reader, start=2):
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise CsvFormatError(
                    f"{path}: line {line} has {len(record)} fields, the header has {len(header)}"
                )
            sample_id = record[0].strip()
            if not sample_id:
                raise CsvFormatError(f"{path}: line {line}, column {header[0]!r}: empty id")
            if sample_id in seen:
                raise CsvFormatError(
                    f"{path}: line {line}: id {sample_id!r} already on line {seen[sample_id]}"
                )
            seen[sample_id] = line
            ids.append(sample_id)
            rows.append([_number(path, line, header[i], record[i]) for i in feature_at])
            if label_at is not None:
                value = _number(path, line, header[label_at], record[label_at])
                if value not in (0.0, 1.0):
                    raise CsvFormatError(
                        f"{path}: line {line}, column {label!r}: label {record[label_at]!r} "
                        "is not 0 or 1"
                    )
                labels.append(value)
    if not ids:
        raise CsvFormatError(f"{path}: no data rows")
    return Table(
        ids,
        [header[i] for i in feature_at],
        np.asarray(rows, dtype=np.float64).reshape(len(ids), len(feature_at)),
        np.asarray(labels, dtype=np.float64) if label_at is not None else None,
    )


def _number(path: Path, line: int, column: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise CsvFormatError(
            f"{path}: line {line}, column {column!r}: {cell!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise CsvFormatError(f"{path}: line {line}, column {column!r}: {cell!r} is not finite")
    return value
