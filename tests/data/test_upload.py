"""Normalising an upload with FATE's options: head, extend_sid, id_delimiter, meta formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedloom.data import (
    CsvFormatError,
    TableFormat,
    TableOptionError,
    UploadSpec,
    normalise_upload,
    read_text_table,
)

pytestmark = pytest.mark.unit

SPARSE = TableFormat.from_meta({"input_format": "sparse", "delimiter": " ", "with_label": True})
TAG = TableFormat.from_meta({"input_format": "tag", "delimiter": ";", "tag_with_value": True})


def _upload(tmp_path: Path, text: str, spec: UploadSpec) -> tuple[list[str], object]:
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(text)
    parsed = normalise_upload(src, dst, spec)
    return dst.read_text().splitlines(), parsed


def test_dense_upload_with_id_delimiter_and_label(tmp_path: Path) -> None:
    spec = UploadSpec(id_delimiter="\t", label_column="y")
    lines, parsed = _upload(tmp_path, "id\ty\tx0\n a \t1\t NA\n\nb\t0\t2\n", spec)
    assert lines == ["id,y,x0", "a,1,NA", "b,0,2"]
    assert parsed.rows == 2 and parsed.label_column == "y"  # type: ignore[attr-defined]
    assert parsed.meta["id_delimiter"] == "\t" and parsed.meta["delimiter"] == "\t"  # type: ignore[attr-defined]


def test_extend_sid_generates_ids(tmp_path: Path) -> None:
    spec = UploadSpec(extend_sid=True, auto_increasing_sid=True)
    lines, parsed = _upload(tmp_path, "x0,x1\n1,2\n3,4\n", spec)
    assert lines == ["sid,x0,x1", "0,1,2", "1,3,4"]
    assert parsed.id_column == "sid"  # type: ignore[attr-defined]
    lines, _ = _upload(tmp_path, "1,2\n3,4\n", UploadSpec(head=False, extend_sid=True))
    assert lines[0] == "sid,x0,x1" and len(lines[1].split(",")[0]) == 32  # uuid hex


def test_meta_label_on_dense_table(tmp_path: Path) -> None:
    fmt = TableFormat.from_meta({"with_label": True, "label_name": "bad"})
    with pytest.raises(CsvFormatError, match=r"line 3, column 'bad': label '2' is not 0 or 1"):
        _upload(tmp_path, "id,bad,x\na,1,1\nb,2,1\n", UploadSpec(table_format=fmt))


def test_sparse_upload_keeps_rows_as_text(tmp_path: Path) -> None:
    text = "id y features\na 1 1:0.5 3:2\nb 0\n"
    lines, parsed = _upload(tmp_path, text, UploadSpec(table_format=SPARSE))
    assert lines == ["id,features", "a,1 1:0.5 3:2", "b,0"]
    assert parsed.meta["input_format"] == "sparse" and parsed.header == ["id", "features"]  # type: ignore[attr-defined]
    stored = read_text_table(tmp_path / "out.csv")
    assert stored.ids == ["a", "b"] and stored.texts == ["1 1:0.5 3:2", "0"]


def test_svmlight_without_ids_gets_sids(tmp_path: Path) -> None:
    spec = UploadSpec(head=False, extend_sid=True, auto_increasing_sid=True, table_format=SPARSE)
    lines, _ = _upload(tmp_path, "1 0:1\n0 2:1.5\n", spec)
    assert lines == ["sid,features", "0,1 0:1", "1,0 2:1.5"]


def test_tag_upload_with_other_id_delimiter(tmp_path: Path) -> None:
    spec = UploadSpec(head=False, id_delimiter=",", table_format=TAG)
    lines, _ = _upload(tmp_path, "u1,a:1;b:2\nu2,c:3\n", spec)
    assert lines == ["id,features", "u1,a:1;b:2", "u2,c:3"]


@pytest.mark.parametrize(
    ("text", "spec", "message"),
    [
        ("id y\na 1 1:x\n", UploadSpec(table_format=SPARSE), r"line 2, column 1: 'x' is not"),
        ("id\na 1 1:1\na 0\n", UploadSpec(table_format=SPARSE), r"line 3, column 'id': duplicate"),
        (
            "u1,a;b:2\n",
            UploadSpec(head=False, id_delimiter=",", table_format=TAG),
            r"line 1, token 1",
        ),
        ("id\n", UploadSpec(table_format=SPARSE), "no data rows"),
        ("", UploadSpec(head=False, table_format=TAG), "the file is empty"),
        ("x0\n", UploadSpec(head=False), "line 1: the header needs an id column"),
        ("id,x\na,1\nb,oops\n", UploadSpec(), r"line 3, column 'x': 'oops' is not a number"),
    ],
)
def test_upload_errors_name_line_and_column(
    tmp_path: Path, text: str, spec: UploadSpec, message: str
) -> None:
    with pytest.raises(CsvFormatError, match=message):
        _upload(tmp_path, text, spec)


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"auto_increasing_sid": True}, "auto_increasing_sid"),
        ({"extend_sid": True, "id_column": "id"}, "id_column"),
        ({"id_delimiter": "ab"}, "id_delimiter"),
        ({"table_format": SPARSE, "label_column": "y"}, "label_column"),
        ({"table_format": SPARSE, "id_column": "id"}, "id_column"),
        (
            {"table_format": TableFormat.from_meta({"delimiter": ";"}), "id_delimiter": ","},
            "id_delimiter",
        ),
        (
            {"table_format": TableFormat.from_meta({"with_label": True}), "label_column": "z"},
            "label_column",
        ),
    ],
)
def test_bad_options_name_the_option(kwargs: dict[str, object], param: str) -> None:
    with pytest.raises(TableOptionError) as info:
        UploadSpec(**kwargs)  # type: ignore[arg-type]
    assert info.value.param == param
