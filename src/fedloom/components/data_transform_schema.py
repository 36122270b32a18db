"""DataTransform's columns and fill values: learned from a table (fit) or applied (transform).

Columns of the output, by input format:

- ``dense``: the table's columns but the id and the label, in table order; in transform mode
  the trained ``header``, in its order (a missing trained column, or a column the model does
  not know, is an error naming it);
- ``sparse``: column ``j`` is index ``j``, named ``x<j>``; fit takes ``max index + 1`` columns,
  transform refuses an index beyond the trained ones;
- ``tag``: one column per tag seen in fit, sorted (the tag vocabulary); transform drops tags
  not in the vocabulary and counts them.

Missing cells (NaN, or a value listed in ``missing_impute``) and outliers (values listed in
``outlier_impute``) get one replacement value per column, learned in fit for every column
(``designated``: ``default_value`` / ``outlier_replace_value``; or the column's min / max / mean
of the other values) and reused as they are in transform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fedloom.components.base import ComponentError
from fedloom.data import MISSING_MARKERS, CsvFormatError, TableFormat, TextTable, parse_row

Matrix = NDArray[np.float64]


@dataclass
class Columns:
    """The typed rows of a table: ids, feature names and values, labels (or None)."""

    ids: list[str]
    header: list[str]
    features: Matrix
    labels: Matrix | None
    unknown_tags: int = 0


def dense_columns(
    ids: list[str],
    names: list[str],
    values: Matrix,
    label_name: str | None,
    trained: list[str] | None,
    ignored: str | None = None,
) -> Columns:
    """Pick the label ``label_name`` (if given) and the features (all other columns in fit; the
    ``trained`` header, in order, in transform); ``ignored`` (the model's label column when the
    label is not read) is dropped if present. In transform a table without the model's label
    column (rows to predict) has no labels."""
    labels = None
    if label_name is not None and (trained is None or label_name in names):
        if label_name not in names:
            raise ComponentError(
                f"DataTransform: no label column {label_name!r} (label_name) in the table; "
                f"its columns are {names}"
            )
        labels = values[:, names.index(label_name)].copy()
    rest = [n for n in names if n not in (label_name, ignored)]
    if trained is None:
        at = [names.index(n) for n in rest]
        return Columns(ids, rest, values[:, at], labels)
    for name in trained:
        if name not in rest:
            raise ComponentError(
                f"DataTransform: the table has no column {name!r}, which the model was trained on"
            )
    for name in rest:
        if name not in trained:
            raise ComponentError(
                f"DataTransform: column {name!r} is not in the model's header {trained}"
            )
    at = [names.index(n) for n in trained]
    return Columns(ids, list(trained), values[:, at], labels)


def text_columns(
    ids: list[str], rows: TextTable, fmt: TableFormat, trained: list[str] | None
) -> Columns:
    """Parse sparse / tag rows (ids must match ``ids``) into columns; ``trained`` is the header
    of the model in transform mode."""
    if rows.ids != ids:
        raise ComponentError("DataTransform: the Reader's rows do not match its ids")
    parsed = []
    for n, (sample_id, text) in enumerate(zip(rows.ids, rows.texts, strict=True), start=1):
        try:
            parsed.append(parse_row(text, fmt, f"row {n} (id {sample_id!r})"))
        except CsvFormatError as exc:
            raise ComponentError(f"DataTransform: {exc}") from None
    labels = None
    if fmt.with_label:
        labels = np.asarray([p.label for p in parsed], dtype=np.float64)
    index: dict[object, int]
    if fmt.input_format == "sparse":
        width = max((int(k) for p in parsed for k in p.entries), default=-1) + 1
        header = [f"x{j}" for j in range(width)] if trained is None else list(trained)
        index = {j: j for j in range(len(header))}
    else:
        tags = {str(tag) for p in parsed for tag in p.entries}
        header = sorted(tags) if trained is None else list(trained)
        index = {tag: j for j, tag in enumerate(header)}
    features = np.zeros((len(ids), len(header)), dtype=np.float64)
    unknown = 0
    for i, row in enumerate(parsed):
        for key, value in row.entries.items():
            j = index.get(key)
            if j is not None:
                features[i, j] = value
            elif fmt.input_format == "sparse":
                raise ComponentError(
                    f"DataTransform: row {i + 1} (id {ids[i]!r}) has index {key}, beyond the "
                    f"{len(header)} columns of the model"
                )
            else:
                unknown += 1
    return Columns(ids, header, features, labels, unknown)


def listed_mask(features: Matrix, listed: Sequence[object] | None) -> NDArray[np.bool_]:
    """Cells equal to one of the numbers in ``listed`` (missing markers are NaN already)."""
    numbers = [
        float(v)  # type: ignore[arg-type]
        for v in listed or []
        if not isinstance(v, str) or v.strip().lower() not in MISSING_MARKERS
    ]
    return np.isin(features, np.asarray(numbers, dtype=np.float64))


def learn_replacements(
    features: Matrix,
    mask: NDArray[np.bool_],
    header: list[str],
    method: str | None,
    value: float | int | list[float] | list[int] | None,
    value_name: str,
) -> dict[str, float]:
    """One replacement value per column: ``value`` (``designated`` or no method; one number or
    one per column) or the min / max / mean of the column's unmasked cells."""
    if isinstance(value, list) and len(value) != len(header):
        raise ComponentError(
            f"DataTransform: {value_name} lists {len(value)} values for {len(header)} features"
        )
    used: dict[str, float] = {}
    for j, name in enumerate(header):
        if method in (None, "designated"):
            fill = value[j] if isinstance(value, list) else value
            if fill is None:
                raise ComponentError(f"DataTransform: {value_name} is needed to fill {name!r}")
            used[name] = float(fill)
            continue
        kept = features[~mask[:, j], j]
        if kept.size == 0:
            if not mask[:, j].any():
                continue  # an empty table: nothing to learn, nothing to replace
            raise ComponentError(
                f"DataTransform: column {name!r} has no value to take a {method} of"
            )
        stat = np.min(kept) if method == "min" else np.max(kept) if method == "max" else kept.mean()
        used[name] = float(stat)
    return used


def apply_replacements(
    features: Matrix, mask: NDArray[np.bool_], header: list[str], values: dict[str, float]
) -> None:
    """Replace the masked cells in place with each column's value (every masked column must
    have one)."""
    for j in np.flatnonzero(mask.any(axis=0)).tolist():
        if header[j] not in values:
            raise ComponentError(f"DataTransform: no replacement value for column {header[j]!r}")
        features[mask[:, j], j] = values[header[j]]


def ratios(mask: NDArray[np.bool_], header: list[str]) -> dict[str, float]:
    """The share of masked cells in each column (FATE's missing / outlier value ratio)."""
    rows = max(mask.shape[0], 1)
    return {name: float(mask[:, j].sum()) / rows for j, name in enumerate(header)}


def first_bad(mask: NDArray[np.bool_]) -> tuple[int, int] | None:
    """(row, column) of the first masked cell, or None."""
    found = np.argwhere(mask)
    return None if found.size == 0 else (int(found[0][0]), int(found[0][1]))
