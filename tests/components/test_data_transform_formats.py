"""Reader → DataTransform for dense, sparse and tag tables stored by the upload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fedloom.components import (
    ComponentError,
    InputArtifact,
    TaskResult,
    load_model,
    load_table,
    load_table_with_meta,
    run_task,
)
from fedloom.data import CsvFormatError, TableFormat, UploadSpec, meta_path, normalise_upload
from fedloom.federation import Context, InMemoryTransport, JobParties, Messenger, Party

pytestmark = pytest.mark.unit

READER = {"table": {"name": "t", "namespace": "experiment"}}


def context() -> Context:
    """A guest context for tasks that do not talk to peers."""
    parties = JobParties.of(guest=9999, hosts=[10000], arbiter=10001)
    local = Party("guest", 9999)
    messenger = Messenger(InMemoryTransport(), "job", local)
    return Context(local=local, parties=parties, messenger=messenger).sub("dt")


def store(tmp_path: Path, name: str, text: str, spec: UploadSpec) -> Path:
    """Upload ``text`` as the flow's table store does: normalised file + meta file beside it."""
    src, dst = tmp_path / f"{name}.upload", tmp_path / f"{name}.csv"
    src.write_text(text)
    parsed = normalise_upload(src, dst, spec)
    meta_path(dst).write_text(json.dumps(parsed.meta))
    return dst


def read(path: Path, out: Path, meta: dict[str, Any] | None = None) -> TaskResult:
    """Run the Reader on a stored table."""
    artifact = InputArtifact("table", path, meta or {"id_column": None, "header": True})
    return run_task("Reader", "guest", 9999, context(), READER, {"table": artifact}, out)


def transform(
    read_result: TaskResult, out: Path, model: Path | None = None, **params: Any
) -> TaskResult:
    """Run DataTransform on a Reader's output (with an input model in transform mode)."""
    inputs = {"data": InputArtifact("data", read_result.data["data"])}
    if model is not None:
        inputs["model"] = InputArtifact("model", model)
    return run_task("DataTransform", "guest", 9999, context(), params, inputs, out)


def sparse_spec(**meta: Any) -> UploadSpec:
    """Upload options of a space-delimited sparse table."""
    return UploadSpec(table_format=TableFormat.from_meta({"input_format": "sparse", **meta}))


def test_sparse_table_becomes_dense_columns(tmp_path: Path) -> None:
    text = "id label features\na 1 0:1.5 3:2\nb 0 2:-1\nc 1\n"
    table = store(tmp_path, "s", text, sparse_spec(delimiter=" ", with_label=True))
    reader = read(table, tmp_path / "r")
    passed, meta = load_table_with_meta(reader.data["data"])
    assert passed.ids == ["a", "b", "c"] and passed.header == []
    assert meta["format"]["input_format"] == "sparse" and meta["raw_rows"] == "data.rows.csv"
    result = transform(reader, tmp_path / "d")
    out = load_table(result.data["data"])
    assert out.header == ["x0", "x1", "x2", "x3"]
    assert out.features.tolist() == [[1.5, 0, 0, 2], [0, 0, -1, 0], [0, 0, 0, 0]]
    assert out.labels is not None and out.labels.tolist() == [1.0, 0.0, 1.0]
    model = load_model(result.model)  # type: ignore[arg-type]
    assert model["meta"]["input_format"] == "sparse" and model["meta"]["delimitor"] == " "
    assert model["param"]["header"] == out.header and model["param"]["sid_name"] == "id"
    assert result.metrics["mode"] == "fit"


def test_tag_table_with_and_without_values(tmp_path: Path) -> None:
    plain = UploadSpec(
        head=False, table_format=TableFormat.from_meta({"input_format": "tag", "delimiter": ";"})
    )
    text = "u1;b;a\nu2;c\nu3;\n"
    result = transform(read(store(tmp_path, "t", text, plain), tmp_path / "r"), tmp_path / "d")
    out = load_table(result.data["data"])
    assert out.header == ["a", "b", "c"] and out.labels is None
    assert out.features.tolist() == [[1, 1, 0], [0, 0, 1], [0, 0, 0]]
    valued = UploadSpec(
        head=False,
        id_delimiter=",",
        table_format=TableFormat.from_meta(
            {"input_format": "tag", "delimiter": " ", "tag_with_value": True}
        ),
    )
    stored = store(tmp_path, "v", "u1,a:2 b:NA\nu2,b:3\n", valued)
    result = transform(
        read(stored, tmp_path / "r2"), tmp_path / "d2", missing_fill=True, default_value=-1
    )
    assert load_table(result.data["data"]).features.tolist() == [[2, -1], [0, 3]]


def test_format_params_must_agree_with_the_table(tmp_path: Path) -> None:
    table = store(tmp_path, "s", "id x\na 1 0:1\n", sparse_spec(delimiter=" ", with_label=True))
    reader = read(table, tmp_path / "r")
    for params, fragment in [
        ({"input_format": "tag"}, "input_format 'tag' disagrees with the table"),
        ({"delimitor": ","}, "delimitor ',' disagrees with the table, uploaded with delimiter ' '"),
        ({"with_label": False}, "with_label False disagrees"),
    ]:
        with pytest.raises(ComponentError, match=fragment):
            transform(reader, tmp_path / "d", **params)
    same = transform(reader, tmp_path / "ok", input_format="sparse", delimitor=" ")
    assert load_table(same.data["data"]).header == ["x0"]


def test_dense_table_label_from_upload_meta(tmp_path: Path) -> None:
    spec = UploadSpec(table_format=TableFormat.from_meta({"with_label": True, "label_name": "t"}))
    table = store(tmp_path, "d", "id,t,x0\na,1,0.5\nb,0,NA\n", spec)
    result = transform(read(table, tmp_path / "r"), tmp_path / "d", missing_fill=True)
    out = load_table(result.data["data"])
    assert out.header == ["x0"] and out.labels is not None and out.labels.tolist() == [1, 0]
    assert out.features.tolist() == [[0.5], [0.0]]
    unlabelled = transform(
        read(table, tmp_path / "r2"), tmp_path / "d2", with_label=False, missing_fill=True
    )
    plain = load_table(unlabelled.data["data"])
    assert plain.header == ["t", "x0"] and plain.labels is None
    with pytest.raises(ComponentError, match="input_format 'sparse' disagrees"):
        transform(read(table, tmp_path / "r3"), tmp_path / "d3", input_format="sparse")


def test_reader_takes_the_format_from_the_artifact_meta(tmp_path: Path) -> None:
    table = store(tmp_path, "s", "id\na 0:1\n", sparse_spec(delimiter=" "))
    meta_path(table).unlink()
    with pytest.raises(CsvFormatError, match=r"line 2, column 'features': '0:1' is not a number"):
        read(table, tmp_path / "r")  # without a format, a table is dense
    fmt = {"input_format": "sparse", "delimiter": " "}
    reader = read(table, tmp_path / "r2", {"format": fmt})
    assert load_table(transform(reader, tmp_path / "d").data["data"]).header == ["x0"]


def test_output_format_sparse_gives_the_dense_values(tmp_path: Path) -> None:
    table = store(tmp_path, "d", "id,x0,x1\na,1,0\nb,0,2\n", UploadSpec())
    reader = read(table, tmp_path / "r")
    dense = load_table(transform(reader, tmp_path / "d1").data["data"])
    sparse = load_table(transform(reader, tmp_path / "d2", output_format="sparse").data["data"])
    assert sparse.header == dense.header and sparse.features.tolist() == [[1.0, 0.0], [0.0, 2.0]]
    assert np.array_equal(sparse.features, dense.features)


def test_str_types_and_match_ids_are_refused(tmp_path: Path) -> None:
    table = store(tmp_path, "d", "id,x0\na,1\n", UploadSpec())
    reader = read(table, tmp_path / "r")
    with pytest.raises(ComponentError, match="string columns are not supported"):
        transform(reader, tmp_path / "d", data_type="str")
    with pytest.raises(ComponentError, match="match ids are not supported"):
        transform(reader, tmp_path / "d", with_match_id=True)


def test_need_run_false_passes_the_table_through(tmp_path: Path) -> None:
    table = store(tmp_path, "d", "id,x0\na,NA\n", UploadSpec())
    result = transform(read(table, tmp_path / "r"), tmp_path / "d", need_run=False)
    assert result.model is None and result.metrics == {"need_run": False}
    assert np.isnan(load_table(result.data["data"]).features).all()
