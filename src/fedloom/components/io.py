"""Artifacts on disk: data tables as ``.npz`` (read with ``allow_pickle=False``), models as JSON.

A data table holds ``ids`` (unicode), ``header`` (unicode), ``features`` (float64, one column
per header name; NaN marks a missing cell), optional ``labels`` (float64), optional
``weights`` (float64, finite, one instance weight per row: SampleWeight's) and ``meta`` (one
JSON string: what produced the table and how to read it). Nothing is ever pickled.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from fedloom.components.base import ComponentError
from fedloom.data import Table

_KEYS = frozenset({"ids", "header", "features", "labels", "weights", "meta"})


def save_table(path: str | Path, table: Table, meta: dict[str, Any] | None = None) -> Path:
    """Write ``table`` (and JSON-safe ``meta``) to ``path`` atomically; returns the path."""
    rows = len(table.ids)
    features = np.asarray(table.features, dtype=np.float64)
    if features.shape != (rows, len(table.header)):
        raise ValueError(
            f"features have shape {features.shape}, expected ({rows}, {len(table.header)})"
        )
    arrays: dict[str, np.ndarray[Any, Any]] = {
        "ids": np.asarray(table.ids, dtype=np.str_).reshape(rows),
        "header": np.asarray(table.header, dtype=np.str_).reshape(len(table.header)),
        "features": features,
        "meta": np.asarray(json.dumps(meta or {}, allow_nan=False)),
    }
    if table.labels is not None:
        labels = np.asarray(table.labels, dtype=np.float64).reshape(-1)
        if labels.size != rows:
            raise ValueError(f"{labels.size} labels for {rows} rows")
        arrays["labels"] = labels
    if table.weights is not None:
        weights = np.asarray(table.weights, dtype=np.float64).reshape(-1)
        if weights.size != rows or not np.all(np.isfinite(weights)):
            raise ValueError(f"the weights must be {rows} finite values")
        arrays["weights"] = weights
    savez: Callable[..., None] = np.savez
    return _atomic_write(Path(path), lambda handle: savez(handle, **arrays))


def load_table(path: str | Path) -> Table:
    """Read a table written by :func:`save_table`."""
    return load_table_with_meta(path)[0]


def load_table_with_meta(path: str | Path) -> tuple[Table, dict[str, Any]]:
    """Read a table and its meta; ComponentError naming the file if it is not a valid table."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ComponentError(f"{path}: not a fedloom data table ({exc})") from exc
    missing = {"ids", "header", "features"} - set(arrays)
    unknown = set(arrays) - _KEYS
    if missing or unknown:
        raise ComponentError(f"{path}: bad table arrays (missing {missing}, unexpected {unknown})")
    ids, header, features = arrays["ids"], arrays["header"], arrays["features"]
    if ids.ndim != 1 or ids.dtype.kind != "U" or header.ndim != 1 or header.dtype.kind != "U":
        raise ComponentError(f"{path}: ids and header must be 1-D unicode arrays")
    if features.dtype != np.float64 or features.shape != (ids.size, header.size):
        raise ComponentError(
            f"{path}: features must be float64 of shape ({ids.size}, {header.size}), "
            f"got {features.dtype} {features.shape}"
        )
    labels = arrays.get("labels")
    if labels is not None and (labels.dtype != np.float64 or labels.shape != (ids.size,)):
        raise ComponentError(f"{path}: labels must be float64 of shape ({ids.size},)")
    weights = arrays.get("weights")
    if weights is not None and (
        weights.dtype != np.float64
        or weights.shape != (ids.size,)
        or not np.all(np.isfinite(weights))
    ):
        raise ComponentError(f"{path}: weights must be finite float64 of shape ({ids.size},)")
    meta: dict[str, Any] = {}
    if "meta" in arrays:
        raw = arrays["meta"]
        if raw.dtype.kind != "U" or raw.ndim != 0:
            raise ComponentError(f"{path}: meta must be one unicode string")
        try:
            loaded = json.loads(str(raw))
        except json.JSONDecodeError as exc:
            raise ComponentError(f"{path}: meta is not JSON ({exc})") from exc
        if not isinstance(loaded, dict):
            raise ComponentError(f"{path}: meta must be a JSON object")
        meta = loaded
    ids_list, header_list = [str(i) for i in ids.tolist()], [str(h) for h in header.tolist()]
    return Table(ids_list, header_list, features, labels, weights), meta


def save_model(path: str | Path, model: dict[str, Any]) -> Path:
    """Write a model as JSON atomically (NaN or infinity refused); returns the path."""
    text = json.dumps(model, allow_nan=False, indent=1, sort_keys=True, default=_numpy_value)
    return _atomic_write(Path(path), lambda handle: handle.write(text.encode()))


def load_model(path: str | Path) -> dict[str, Any]:
    """Read a model written by :func:`save_model`."""
    path = Path(path)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ComponentError(f"{path}: not a model JSON file ({exc})") from exc
    if not isinstance(value, dict):
        raise ComponentError(f"{path}: a model must be a JSON object")
    return value


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars/arrays as Python builtins and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _numpy_value(value: object) -> Any:
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} values cannot be stored in a model file")


def _atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
