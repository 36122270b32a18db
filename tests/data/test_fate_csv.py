"""FATE CSV tables: shapes, labels, and errors that name line and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fedloom.data import CsvFormatError, read_fate_csv

pytestmark = pytest.mark.unit


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def test_guest_table_with_label(tmp_path: Path) -> None:
    table = read_fate_csv(_write(tmp_path, "id,y,x0,x1\na,1,0.5,-2\nb,0,1e-3,3\n"), label="y")
    assert table.ids == ["a", "b"]
    assert table.header == ["x0", "x1"]
    np.testing.assert_array_equal(table.features, [[0.5, -2.0], [1e-3, 3.0]])
    assert table.labels is not None
    np.testing.assert_array_equal(table.labels, [1.0, 0.0])
    picked = table.take([1])
    assert picked.ids == ["b"] and picked.labels is not None and picked.labels.tolist() == [0.0]


def test_host_table_and_label_anywhere(tmp_path: Path) -> None:
    host = read_fate_csv(_write(tmp_path, "id,x0\n7,1\n8,2\n\n"))
    assert host.labels is None and host.features.shape == (2, 1) and host.ids == ["7", "8"]
    moved = read_fate_csv(_write(tmp_path, "id,x0,label\n7,1,0\n"), label="label")
    assert moved.header == ["x0"] and moved.labels is not None and moved.labels.tolist() == [0.0]


@pytest.mark.parametrize(
    ("text", "label", "message"),
    [
        ("id,y,x0\na,1,0.5\nb,0,abc\n", "y", r"line 3, column 'x0': 'abc' is not a number"),
        ("id,y,x0\na,1,nan\n", "y", r"line 2, column 'x0': 'nan' is not finite"),
        ("id,y,x0\na,2,0.5\n", "y", r"line 2, column 'y': label '2' is not 0 or 1"),
        ("id,y,x0\na,1\n", "y", r"line 2 has 2 fields, the header has 3"),
        (
            "id,y,x0\na,1,1\na,0,2\n",
            "y",
            r"line 3, column 'id': duplicate id 'a' \(first on line 2\)",
        ),
        ("id,x0\n", None, r"no data rows"),
        ("", None, r"the file is empty"),
        ("id,x0\na,1\n", "y", r"no label column 'y'"),
        ("id,x0,x0\na,1,2\n", None, r"column 'x0' appears twice"),
        ("id,x0\n,1\n", None, r"line 2, column 'id': empty id"),
    ],
)
def test_bad_input_names_the_place(
    tmp_path: Path, text: str, label: str | None, message: str
) -> None:
    with pytest.raises(CsvFormatError, match=message):
        read_fate_csv(_write(tmp_path, text), label=label)
