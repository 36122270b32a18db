"""The one CSV parser: dense options, missing cells, sparse / tag rows, FATE's upload meta."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fedloom.data import (
    CsvFormatError,
    TableFormat,
    TableOptionError,
    parse_row,
    read_dense,
    read_text_table,
    stored_format,
)

pytestmark = pytest.mark.unit


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_missing_markers_read_as_nan_unless_strict(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,x0,x1,x2\na, NA ,null,\nb,1,None,nan\n")
    table = read_dense(path)
    assert np.isnan(table.features).sum() == 5 and table.features[1, 0] == 1.0
    with pytest.raises(CsvFormatError, match=r"line 2, column 'x0': 'NA' is not a number"):
        read_dense(path, allow_missing=False)


def test_dense_options(tmp_path: Path) -> None:
    nohead = read_dense(_write(tmp_path, "a;1;2\nb;3;4\n"), delimiter=";", head=False)
    assert nohead.header == ["x0", "x1"] and nohead.ids == ["a", "b"]
    by_name = read_dense(_write(tmp_path, "x,uid,y\n1,u,0\n2,v,1\n"), id_column="uid")
    assert by_name.ids == ["u", "v"] and by_name.header == ["x", "y"]
    labelled = read_dense(_write(tmp_path, "id,x,y\na,1,0\n"), label_column="y")
    assert labelled.header == ["x"] and labelled.labels is not None
    with pytest.raises(CsvFormatError, match=r"line 1: header \['id', 'x'\] differs"):
        read_dense(_write(tmp_path, "id,x\na,1\n"), head=["id", "z"])
    with pytest.raises(CsvFormatError, match=r"line 3: malformed CSV"):
        read_dense(_write(tmp_path, 'id,x\na,1\nb,"2\n'), head=True)


def test_sparse_rows() -> None:
    fmt = TableFormat(input_format="sparse", delimiter=" ", with_label=True)
    row = parse_row("1  3:0.5 0:NA   7:-2", fmt, "line 4")
    assert row.label == 1.0 and row.entries == {3: 0.5, 0: row.entries[0], 7: -2.0}
    assert math.isnan(row.entries[0])  # type: ignore[index]
    for text, message in [
        ("1 3:x", r"line 4, column 3: 'x' is not a number"),
        ("1 3", r"line 4, token 1: '3' is not index:value"),
        ("1 a:1", r"line 4, token 1: index 'a' is not an integer"),
        ("1 -1:1", r"index '-1' is not an integer from 0"),
        ("1 2:1 2:3", r"line 4, column 2: index given twice"),
        ("7 2:1", r"line 4, label: label '7' is not 0 or 1"),
        ("", r"line 4: no label"),
    ]:
        with pytest.raises(CsvFormatError, match=message):
            parse_row(text, fmt, "line 4")


def test_tag_rows() -> None:
    plain = TableFormat(input_format="tag", delimiter=" ")
    assert parse_row("a b a", plain, "line 2").entries == {"a": 1.0, "b": 1.0}
    valued = TableFormat(input_format="tag", delimiter=",", tag_with_value=True)
    assert parse_row("a:2,b:0.5", valued, "line 2").entries == {"a": 2.0, "b": 0.5}
    with pytest.raises(CsvFormatError, match=r"line 2, column 'b': 'x' is not a number"):
        parse_row("a:2,b:x", valued, "line 2")
    with pytest.raises(CsvFormatError, match=r"line 2, token 1: 'a' is not tag:value"):
        parse_row("a", valued, "line 2")


def test_table_format_from_meta_names_the_key() -> None:
    fmt = TableFormat.from_meta({"input_format": "TAG", "delimitor": ";", "with_label": True})
    assert (fmt.input_format, fmt.delimiter, fmt.with_label) == ("tag", ";", True)
    assert fmt.given == {"input_format", "delimiter", "with_label"}
    assert stored_format({**fmt.to_meta(), "head": True}) == fmt
    for meta, param in [
        ({"input_format": "svm"}, "meta.input_format"),
        ({"delimiter": "::"}, "meta.delimiter"),
        ({"with_label": "yes"}, "meta.with_label"),
        ({"label_type": "str"}, "meta.label_type"),
        ({"id_list": ["a"]}, "meta.id_list"),
        ({"colour": 1}, "meta.colour"),
        ({"input_format": "tag", "delimiter": ":"}, "meta.tag_value_delimitor"),
    ]:
        with pytest.raises(TableOptionError) as info:
            TableFormat.from_meta(meta)
        assert info.value.param == param and str(info.value).startswith(f"{param}: ")


def test_stored_text_table_checks_ids(tmp_path: Path) -> None:
    good = read_text_table(_write(tmp_path, "uid,features\na,1 2:3\nb,\n"))
    assert good.id_name == "uid" and good.ids == ["a", "b"] and good.texts == ["1 2:3", ""]
    with pytest.raises(CsvFormatError, match=r"line 3, column 'uid': duplicate id 'a'"):
        read_text_table(_write(tmp_path, "uid,features\na,1\na,2\n"))
    with pytest.raises(CsvFormatError, match="not a stored sparse/tag table"):
        read_text_table(_write(tmp_path, "id,x,y\na,1,2\n"))
