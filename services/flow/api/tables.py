"""``/api/v1/tables``: upload, list, inspect and delete this party's tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from services.flow.api.deps import Authorized, Tables
from services.flow.api.schemas import TableMeta, TablePreview
from services.flow.csv_upload import TableFormatError
from services.flow.tablestore import TableExists, TableNotFound, UploadOptions, table_meta

router = APIRouter(prefix="/api/v1/tables", tags=["tables"], dependencies=Authorized)

_CHUNK = 1 << 20
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


async def _receive(request: Request, target: Path) -> None:
    """Write the upload (raw CSV body, or the ``file`` part of a multipart form) to ``target``."""
    with target.open("wb") as out:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form()
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise HTTPException(422, "a multipart upload needs a 'file' part")
            while chunk := await upload.read(_CHUNK):
                out.write(chunk)
        else:
            async for chunk in request.stream():
                out.write(chunk)


def upload_options(
    head: Annotated[bool, Query(description="1: the first line is a header (FATE's head)")] = True,
    id_column: Annotated[str | None, Query(description="the id column of a dense table")] = None,
    label_column: Annotated[
        str | None, Query(description="the 0/1 label column of a dense table (checked)")
    ] = None,
    extend_sid: Annotated[
        bool, Query(description="the file has no id column: prepend a generated sample id")
    ] = False,
    auto_increasing_sid: Annotated[
        bool, Query(description="with extend_sid: ids 0, 1, 2, ... instead of uuids")
    ] = False,
    id_delimiter: Annotated[
        str | None, Query(description="splits the id from the rest (default: meta delimiter)")
    ] = None,
    with_meta: Annotated[bool, Query(description="read the table format from meta")] = False,
    meta: Annotated[
        str | None,
        Query(
            description="FATE's upload meta, a JSON object: input_format (dense|sparse|tag), "
            "delimiter, tag_with_value, tag_value_delimitor, with_label, label_name, label_type"
        ),
    ] = None,
    overwrite: bool = False,
) -> UploadOptions:
    """The upload's query options, checked (422 naming the option)."""
    options = UploadOptions(
        head,
        id_column,
        label_column,
        overwrite,
        extend_sid,
        auto_increasing_sid,
        id_delimiter,
        with_meta,
        meta,
    )
    try:
        options.spec()
    except TableFormatError as exc:
        raise HTTPException(422, str(exc)) from None
    return options


Options = Annotated[UploadOptions, Depends(upload_options)]


@router.post("/{namespace}/{name}", status_code=201, openapi_extra=_UPLOAD_BODY)
async def upload_table(
    namespace: str, name: str, request: Request, tables: Tables, options: Options
) -> TableMeta:
    """Upload a table (body ``text/csv`` or multipart ``file``) with FATE's upload options;
    422 names the bad line and column or option, 409 if the table exists and ``overwrite`` is
    false. A failed upload leaves nothing behind."""
    overwrite = options.overwrite
    staging = tables.staging_path()
    try:
        await run_in_threadpool(tables.check_free, namespace, name, overwrite)
        await _receive(request, staging)
        row = await run_in_threadpool(tables.save, namespace, name, staging, options)
    except TableFormatError as exc:
        raise HTTPException(422, str(exc)) from None
    except TableExists as exc:
        raise HTTPException(409, str(exc)) from None
    finally:
        staging.unlink(missing_ok=True)
    return TableMeta(**table_meta(row))


@router.get("")
def list_tables(tables: Tables, namespace: str | None = None) -> list[TableMeta]:
    """Every table, optionally of one namespace."""
    return [TableMeta(**table_meta(row)) for row in tables.list(namespace)]


@router.get("/{namespace}/{name}")
def get_table(namespace: str, name: str, tables: Tables) -> TableMeta:
    """A table's metadata."""
    row = tables.get(namespace, name)
    if row is None:
        raise HTTPException(404, f"table {namespace}/{name} not found")
    return TableMeta(**table_meta(row))


@router.get("/{namespace}/{name}/preview")
def preview_table(
    namespace: str, name: str, tables: Tables, limit: Annotated[int, Query(ge=1, le=1000)] = 10
) -> TablePreview:
    """The header and first ``limit`` rows."""
    try:
        return TablePreview(**tables.preview(namespace, name, limit))
    except TableNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.delete("/{namespace}/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_table(namespace: str, name: str, tables: Tables) -> Response:
    """Delete a table and its file."""
    try:
        tables.delete(namespace, name)
    except TableNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
