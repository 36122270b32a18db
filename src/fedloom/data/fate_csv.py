"""Dense tables in FATE's CSV layout: ``id,y,x0,x1,...`` (guest) or ``id,x0,x1,...`` (host).

:func:`read_dense` reads any dense CSV with the shared parser of :mod:`fedloom.data.csv_table`
(the Reader uses it on uploaded tables); :func:`read_fate_csv` is the strict form used by the
demo and the benchmarks (no missing cells, label taken out by name). A bad cell is reported by
its 1-based line in the file and its column name, never silently replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from fedloom.data.csv_table import (
    CsvFormatError,
    dense_layout,
    dense_rows,
    generated_header,
    prefix,
    read_records,
)


@dataclass
class Table:
    """One party's table: ids, feature names, feature matrix, (for the guest) labels and
    optional per-row instance weights (SampleWeight's output; None: every row weighs 1)."""

    ids: list[str]
    header: list[str]
    features: NDArray[np.float64]
    labels: NDArray[np.float64] | None = None
    weights: NDArray[np.float64] | None = None

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
            None if self.weights is None else self.weights[idx],
        )


def read_dense(
    path: str | Path,
    *,
    delimiter: str = ",",
    head: bool | list[str] = True,
    id_column: str | int | None = None,
    label_column: str | None = None,
    allow_missing: bool = True,
) -> Table:
    """Read a dense CSV into a :class:`Table`.

    ``head``: True — the first line is the header; a list — the first line is the header and
    must equal it; False — no header line, columns are named ``id, x0, x1, ...``. ``id_column``
    (name or 0-based index; default the first column) holds the sample ids; ``label_column``,
    when given, is taken out as the labels (0/1); every other column is a numeric feature
    (missing markers read as NaN when ``allow_missing``).
    """
    path = Path(path)
    source = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CsvFormatError(f"{source}: cannot read the file ({exc.strerror})") from None
    with handle:
        records = read_records(handle, delimiter, source)
        first = next(records, None)
        if first is None:
            raise CsvFormatError(f"{source}: the file is empty")
        if head is False:
            header, pending = generated_header(len(first[1])), [first]
        else:
            header, pending = first[1], []
            if isinstance(head, list) and header != [str(h) for h in head]:
                raise CsvFormatError(
                    f"{source}: line {first[0]}: header {header} differs from the table's "
                    f"registered header {head}"
                )
        layout = dense_layout(header, first[0], id_column, label_column, source)
        ids: list[str] = []
        values: list[list[float]] = []
        for row in dense_rows(
            chain(pending, records), layout, allow_missing=allow_missing, source=source
        ):
            ids.append(row.sample_id)
            values.append(row.values)
    if not ids:
        raise CsvFormatError(f"{prefix(source)}no data rows")
    names = [header[j] for j in layout.value_at]
    matrix = np.asarray(values, dtype=np.float64).reshape(len(ids), len(names))
    if layout.label_column is None:
        return Table(ids, names, matrix)
    at = names.index(layout.label_column)
    features = np.delete(matrix, at, axis=1)
    return Table(ids, names[:at] + names[at + 1 :], features, matrix[:, at].copy())


def read_fate_csv(path: str | Path, label: str | None = None) -> Table:
    """Read a FATE CSV strictly (no missing cells); ``label`` names the label column (guest) or
    is None (host)."""
    return read_dense(path, label_column=label, allow_missing=False)
