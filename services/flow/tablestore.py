"""Uploaded tables: normalised CSV files under ``data_dir/tables`` plus rows in ``tables``.

Each table is ``tables/<namespace>/<name>.csv`` (see :mod:`fedloom.data.upload` for its layout)
and ``<name>.meta.json`` beside it: the upload meta (FATE's ``meta`` keys with their defaults,
plus ``head``, ``id_delimiter``, ``extend_sid``, ``auto_increasing_sid``), also kept in the row's
``meta`` column; the Reader reads the file when its input artifact carries no ``format``. A
failed upload leaves no file, folder or row behind.
"""

from __future__ import annotations

import csv
import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fedloom.data import UploadSpec, meta_path
from services.flow.csv_upload import TableFormatError, normalise_csv, upload_spec
from services.flow.models import DataTable, iso, utcnow

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")


class TableExists(Exception):
    """The table is already there and overwrite was not asked for."""


class TableNotFound(Exception):
    """No such table."""


@dataclass(frozen=True)
class UploadOptions:
    """Query options of an upload (FATE's names, plus fedloom's ``id_column``,
    ``label_column`` and ``overwrite``); :meth:`spec` checks them."""

    head: bool = True
    id_column: str | None = None
    label_column: str | None = None
    overwrite: bool = False
    extend_sid: bool = False
    auto_increasing_sid: bool = False
    id_delimiter: str | None = None
    with_meta: bool = False
    meta: str | None = None

    def spec(self) -> UploadSpec:
        """The checked upload options (TableFormatError naming the option)."""
        return upload_spec(
            head=self.head,
            id_column=self.id_column,
            label_column=self.label_column,
            extend_sid=self.extend_sid,
            auto_increasing_sid=self.auto_increasing_sid,
            id_delimiter=self.id_delimiter,
            with_meta=self.with_meta,
            meta=self.meta,
        )


def check_name(kind: str, value: str) -> None:
    """Namespaces and names are path components: letters, digits, ``_ . -`` only."""
    if not _NAME.fullmatch(value) or value in (".", ".."):
        raise TableFormatError(
            f"{kind} {value!r} must be 1-128 letters, digits, '_', '.' or '-' "
            "and not start with '.' or '-'"
        )


def table_meta(row: DataTable) -> dict[str, Any]:
    """The public metadata of a table."""
    return {
        "namespace": row.namespace,
        "name": row.name,
        "rows": row.rows,
        "columns": row.columns,
        "header": list(row.header),
        "id_column": row.id_column,
        "label_column": row.label_column,
        "input_format": (row.meta or {}).get("input_format", "dense"),
        "meta": dict(row.meta or {}),
        "created_at": iso(row.created_at),
    }


class TableStore:
    """Upload, list, read and delete this party's tables."""

    def __init__(self, sessions: sessionmaker[Session], data_dir: Path) -> None:
        self._sessions = sessions
        self.root = data_dir.resolve() / "tables"

    def staging_path(self) -> Path:
        """A fresh file name for an upload being received."""
        staging = self.root / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        return staging / f"{uuid.uuid4().hex}.part"

    def check_free(self, namespace: str, name: str, overwrite: bool) -> None:
        """Raise TableExists unless the name is free or ``overwrite``."""
        check_name("namespace", namespace)
        check_name("name", name)
        if not overwrite and self.get(namespace, name) is not None:
            raise TableExists(f"table {namespace}/{name} already exists")

    def save(self, namespace: str, name: str, upload: Path, options: UploadOptions) -> DataTable:
        """Validate the received file ``upload`` and store it as ``namespace/name``."""
        self.check_free(namespace, name, options.overwrite)
        folder = self.root / namespace
        final = folder / f"{name}.csv"
        normalised, meta_file = upload.with_suffix(".csv"), upload.with_suffix(".meta.json")
        created = not folder.exists()
        try:
            parsed = normalise_csv(upload, normalised, options.spec())
            meta_file.write_text(json.dumps(parsed.meta, sort_keys=True), encoding="utf-8")
            with self._sessions.begin() as session:
                row = session.get(DataTable, (namespace, name))
                if row is not None and not options.overwrite:
                    raise TableExists(f"table {namespace}/{name} already exists")
                if row is None:
                    row = DataTable(namespace=namespace, name=name)
                    session.add(row)
                row.path = str(final)
                row.rows = parsed.rows
                row.columns = len(parsed.header)
                row.header = parsed.header
                row.id_column = parsed.id_column
                row.label_column = parsed.label_column
                row.meta = parsed.meta
                row.created_at = utcnow()
                folder.mkdir(parents=True, exist_ok=True)
                os.replace(meta_file, meta_path(final))
                os.replace(normalised, final)
            return row
        except BaseException:
            if created:
                _remove_empty(folder)
            raise
        finally:
            normalised.unlink(missing_ok=True)
            meta_file.unlink(missing_ok=True)

    def get(self, namespace: str, name: str) -> DataTable | None:
        """The table's row, or None."""
        with self._sessions() as session:
            return session.get(DataTable, (namespace, name))

    def require(self, namespace: str, name: str) -> DataTable:
        """The table's row, or TableNotFound."""
        row = self.get(namespace, name)
        if row is None:
            raise TableNotFound(f"table {namespace}/{name} not found")
        return row

    def list(self, namespace: str | None = None) -> list[DataTable]:
        """Every table, optionally of one namespace, by namespace and name."""
        query = select(DataTable).order_by(DataTable.namespace, DataTable.name)
        if namespace is not None:
            query = query.where(DataTable.namespace == namespace)
        with self._sessions() as session:
            return list(session.scalars(query))

    def preview(self, namespace: str, name: str, limit: int) -> dict[str, Any]:
        """The header and the first ``limit`` rows, as text."""
        row = self.require(namespace, name)
        rows: list[list[str]] = []
        with Path(row.path).open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            for record in reader:
                if len(rows) >= limit:
                    break
                rows.append(record)
        return {"namespace": namespace, "name": name, "header": header, "rows": rows}

    def delete(self, namespace: str, name: str) -> None:
        """Remove the table and its file (TableNotFound if absent)."""
        with self._sessions.begin() as session:
            row = session.get(DataTable, (namespace, name))
            if row is None:
                raise TableNotFound(f"table {namespace}/{name} not found")
            session.delete(row)
            Path(row.path).unlink(missing_ok=True)
            meta_path(Path(row.path)).unlink(missing_ok=True)
        _remove_empty(Path(row.path).parent)


def _remove_empty(folder: Path) -> None:
    """Remove ``folder`` if it exists and is empty."""
    try:
        folder.rmdir()
    except OSError:
        pass
