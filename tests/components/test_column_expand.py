"""ColumnExpand: constant columns after the Reader, replay in predict tables, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_data_transform_formats import read, sparse_spec, store, transform
from test_feature_scale import replay, run, table

from fedloom.components import REGISTRY, ComponentError, load_model, load_table
from fedloom.data import UploadSpec

pytestmark = pytest.mark.unit

TRAIN = "id,y,x0\na,1,5\nb,0,6\n"


def expand(tmp_path: Path, text: str, name: str, model: Path | None = None, **params: Any) -> Any:
    """Reader → ColumnExpand on an uploaded CSV."""
    reader = read(store(tmp_path, name, text, UploadSpec()), tmp_path / f"{name}_r")
    return run("ColumnExpand", reader.data["data"], tmp_path / f"{name}_c", model, **params)


def test_declaration() -> None:
    spec = REGISTRY["ColumnExpand"]
    assert spec.roles == ("guest", "host") and spec.model_inputs == {"model": (0, 1)}


def test_reader_columns_expand_and_data_transform_reads_them(tmp_path: Path) -> None:
    result = expand(tmp_path, TRAIN, "t", append_header=["c1", "c2"], fill_value=[0.5, "2"])
    dt = transform(result, tmp_path / "dt", with_label=True)
    out = load_table(dt.data["data"])
    assert out.header == ["x0", "c1", "c2"]
    assert out.features.tolist() == [[5, 0.5, 2], [6, 0.5, 2]]
    assert out.labels is not None and out.labels.tolist() == [1, 0]
    model = load_model(result.model)
    assert model["meta"] == {
        "append_header": ["c1", "c2"],
        "method": "manual",
        "fill_value": ["0.5", "2.0"],
        "need_run": True,
    }
    assert model["param"] == {"header": ["y", "x0", "c1", "c2"]}


def test_default_fill_value_and_one_name(tmp_path: Path) -> None:
    data = table(tmp_path / "t.npz", np.ones((2, 1)), ["x"])
    _, out = replay("ColumnExpand", tmp_path, data, append_header="new")
    assert out.header == ["x", "new"] and out.features[:, 1].tolist() == [1e-8, 1e-8]


def test_no_append_header_passes_the_table(tmp_path: Path) -> None:
    data = table(tmp_path / "t.npz", np.ones((2, 1)), ["x"])
    _, out = replay("ColumnExpand", tmp_path, data)
    assert out.header == ["x"] and out.features.tolist() == [[1], [1]]


def test_predict_table_without_label_gets_the_trained_columns(tmp_path: Path) -> None:
    fitted = expand(tmp_path, TRAIN, "t", append_header=["c"], fill_value=3)
    applied = expand(tmp_path, "id,x0\nz,9\n", "p", fitted.model)
    out = load_table(applied.data["data"])
    assert out.header == ["x0", "c"] and out.features.tolist() == [[9, 3]]
    with pytest.raises(ComponentError, match=r"has column\(s\) \['c'\] already"):
        expand(tmp_path, "id,c\nz,9\n", "q", fitted.model)
    with pytest.raises(ComponentError, match="fill_value 4 differs from the model's 3"):
        expand(tmp_path, "id,x0\nz,9\n", "r", fitted.model, fill_value=4)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"method": "auto"}, "expected one of 'manual'"),
        ({"append_header": ["a"], "fill_value": "yes"}, "'yes' is not a number"),
        ({"append_header": ["a", "b"], "fill_value": [1]}, "lists 1 values for 2"),
        ({"append_header": ["a", "a"]}, "names a column twice"),
        ({"append_header": ["a,b"]}, "not a column name"),
        ({"append_header": ["x0"]}, r"has column\(s\) \['x0'\] already"),
    ],
)
def test_bad_parameters_are_refused(tmp_path: Path, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        expand(tmp_path, TRAIN, "t", **params)


def test_sparse_rows_are_refused(tmp_path: Path) -> None:
    sparse = store(tmp_path, "s", "id\na 0:1\n", sparse_spec(delimiter=" "))
    reader = read(sparse, tmp_path / "sr")
    with pytest.raises(ComponentError, match="appends numeric columns to dense tables"):
        run("ColumnExpand", reader.data["data"], tmp_path / "sc", append_header=["c"])
