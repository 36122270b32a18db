"""The flow's side of an upload: FATE's upload options checked, the file normalised.

Parsing and checking live in :mod:`fedloom.data.upload` (the one CSV parser, shared with the
Reader); this module turns the REST options into an :class:`~fedloom.data.UploadSpec` and the
parser's errors into :class:`TableFormatError` (HTTP 422). Errors name the uploaded file's line
and column, or the option; they go to this party's own user only.
"""

from __future__ import annotations

import json
from pathlib import Path

from fedloom.data import (
    CsvFormatError,
    TableFormat,
    TableOptionError,
    UploadedTable,
    UploadSpec,
    normalise_upload,
)

__all__ = ["TableFormatError", "UploadedTable", "normalise_csv", "upload_spec"]


class TableFormatError(ValueError):
    """The upload is not a valid table, or an option is wrong (the message names line and
    column, or the option)."""


def upload_spec(
    *,
    head: bool = True,
    id_column: str | None = None,
    label_column: str | None = None,
    extend_sid: bool = False,
    auto_increasing_sid: bool = False,
    id_delimiter: str | None = None,
    with_meta: bool = False,
    meta: str | None = None,
) -> UploadSpec:
    """The checked options of an upload; ``meta`` is FATE's upload meta as a JSON object (used
    only with ``with_meta``)."""
    try:
        if meta is not None and not with_meta:
            raise TableOptionError("meta", "is read only with with_meta=1")
        if with_meta and meta is None:
            raise TableOptionError("with_meta", "needs meta (a JSON object)")
        fmt = TableFormat()
        if meta is not None:
            try:
                parsed = json.loads(meta)
            except ValueError as exc:
                raise TableOptionError("meta", f"not JSON ({exc})") from None
            fmt = TableFormat.from_meta(parsed)
        return UploadSpec(
            head=head,
            id_column=id_column or None,
            label_column=label_column or None,
            extend_sid=extend_sid,
            auto_increasing_sid=auto_increasing_sid,
            id_delimiter=id_delimiter,
            table_format=fmt,
        )
    except TableOptionError as exc:
        raise TableFormatError(str(exc)) from None


def normalise_csv(src: Path, dst: Path, spec: UploadSpec) -> UploadedTable:
    """Check ``src`` and write the normalised table to ``dst`` (see
    :func:`fedloom.data.normalise_upload`)."""
    try:
        return normalise_upload(src, dst, spec)
    except CsvFormatError as exc:
        raise TableFormatError(str(exc)) from None
