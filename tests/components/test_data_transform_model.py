"""DataTransform with an input model applies the trained schema to another table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_data_transform_formats import read, sparse_spec, store, transform

from fedloom.components import REGISTRY, ComponentError, load_model, load_table
from fedloom.data import TableFormat, UploadSpec

pytestmark = pytest.mark.unit

TRAIN = "id,y,x0,x1,x2\na,1,1,-999,5\nb,0,3,4,100\nc,1,NA,8,7\n"
FIT = {
    "with_label": True,
    "missing_fill": True,
    "missing_fill_method": "mean",
    "missing_impute": [-999],
    "outlier_replace": True,
    "outlier_impute": [100],
    "outlier_replace_method": "max",
}


def _fit(tmp_path: Path, text: str = TRAIN, **params: object) -> Path:
    reader = read(store(tmp_path, "train", text, UploadSpec()), tmp_path / "train_r")
    result = transform(reader, tmp_path / "train_d", **{**FIT, **params})
    assert result.model is not None
    return result.model


def test_declaration_accepts_an_optional_model() -> None:
    assert REGISTRY["DataTransform"].model_inputs == {"model": (0, 1)}


def test_second_table_gets_the_trained_columns_and_fill_values(tmp_path: Path) -> None:
    model_path = _fit(tmp_path)
    model = load_model(model_path)
    fills = model["param"]["imputer_param"]["missing_replace_value"]
    # means of the training values (missing cells are filled before outliers are replaced)
    assert fills == {"x0": 2.0, "x1": 6.0, "x2": pytest.approx(112 / 3)}
    assert model["param"]["outlier_param"]["outlier_replace_value"]["x2"] == 7.0
    assert model["param"]["imputer_param"]["missing_value_ratio"]["x0"] == pytest.approx(1 / 3)
    # the validate table: other column order, its own missing cells and outliers
    test = "id,x2,x1,y,x0\nd,NA,-999,0,NA\ne,100,1,1,9\n"
    reader = read(store(tmp_path, "test", test, UploadSpec()), tmp_path / "test_r")
    result = transform(reader, tmp_path / "test_d", model_path)
    out = load_table(result.data["data"])
    assert out.header == ["x0", "x1", "x2"]
    np.testing.assert_allclose(out.features, [[2.0, 6.0, 112 / 3], [9.0, 1.0, 7.0]])
    assert out.labels is not None and out.labels.tolist() == [0.0, 1.0]
    assert result.metrics["mode"] == "transform"
    assert load_model(result.model) == model  # type: ignore[arg-type]


def test_missing_or_unknown_column_is_named(tmp_path: Path) -> None:
    model = _fit(tmp_path)
    lacking = read(store(tmp_path, "l", "id,y,x0,x2\nd,0,1,2\n", UploadSpec()), tmp_path / "l")
    with pytest.raises(ComponentError, match="no column 'x1', which the model was trained on"):
        transform(lacking, tmp_path / "ld", model)
    extra = read(
        store(tmp_path, "e", "id,y,x0,x1,x2,z\nd,0,1,2,3,4\n", UploadSpec()), tmp_path / "e"
    )
    with pytest.raises(ComponentError, match=r"column 'z' is not in the model's header"):
        transform(extra, tmp_path / "ed", model)


def test_predict_table_without_label(tmp_path: Path) -> None:
    model = _fit(tmp_path)
    reader = read(store(tmp_path, "p", "id,x0,x1,x2\nd,1,2,3\n", UploadSpec()), tmp_path / "p")
    # rows to predict carry no label: the model's label column is simply absent
    for out_dir, params in (("pd", {}), ("pd2", {"with_label": False})):
        result = transform(reader, tmp_path / out_dir, model, **params)
        out = load_table(result.data["data"])
        assert out.labels is None and out.features.tolist() == [[1.0, 2.0, 3.0]]
    with pytest.raises(ComponentError, match="no label column 'y'"):
        read_and_fit = read(store(tmp_path, "f", "id,x0\na,1\n", UploadSpec()), tmp_path / "f")
        transform(read_and_fit, tmp_path / "fd", None, with_label=True)


def test_params_other_than_the_label_must_match_the_model(tmp_path: Path) -> None:
    model = _fit(tmp_path)
    reader = read(store(tmp_path, "t", TRAIN, UploadSpec()), tmp_path / "t")
    with pytest.raises(ComponentError, match="missing_fill_method 'max' differs from the model's"):
        transform(reader, tmp_path / "td", model, missing_fill_method="max")
    same = transform(reader, tmp_path / "td2", model, missing_fill_method="mean", need_run=True)
    assert load_table(same.data["data"]).header == ["x0", "x1", "x2"]
    sparse = read(store(tmp_path, "s", "id\na 0:1\n", sparse_spec(delimiter=" ")), tmp_path / "s")
    with pytest.raises(ComponentError, match="table's input_format 'sparse' differs"):
        transform(sparse, tmp_path / "sd", model)


def test_tag_vocabulary_and_sparse_width_are_kept(tmp_path: Path) -> None:
    tag = UploadSpec(
        head=False, table_format=TableFormat.from_meta({"input_format": "tag", "delimiter": " "})
    )
    trained = transform(
        read(store(tmp_path, "t1", "a x y\nb z\n", tag), tmp_path / "r1"), tmp_path / "d1"
    )
    test = read(store(tmp_path, "t2", "c y new\nd\n", tag), tmp_path / "r2")
    applied = transform(test, tmp_path / "d2", trained.model)
    out = load_table(applied.data["data"])
    assert out.header == ["x", "y", "z"] and out.features.tolist() == [[0, 1, 0], [0, 0, 0]]
    assert applied.metrics["unknown_tags"] == 1

    spec = sparse_spec(delimiter=" ")
    fitted = transform(
        read(store(tmp_path, "s1", "id\na 2:1\n", spec), tmp_path / "s1"), tmp_path / "e1"
    )
    narrow = read(store(tmp_path, "s2", "id\nb 0:5\n", spec), tmp_path / "s2")
    assert np.array_equal(
        load_table(transform(narrow, tmp_path / "e2", fitted.model).data["data"]).features,
        [[5.0, 0.0, 0.0]],
    )
    wide = read(store(tmp_path, "s3", "id\nc 3:1\n", spec), tmp_path / "s3")
    with pytest.raises(ComponentError, match=r"has index 3, beyond the 3 columns of the model"):
        transform(wide, tmp_path / "e3", fitted.model)


def test_not_a_data_transform_model(tmp_path: Path) -> None:
    bogus = tmp_path / "m.json"
    bogus.write_text('{"module": "HeteroLR", "meta": {}}')
    reader = read(store(tmp_path, "t", TRAIN, UploadSpec()), tmp_path / "t")
    with pytest.raises(ComponentError, match="not a DataTransform model"):
        transform(reader, tmp_path / "d", bogus)


def test_a_dense_tables_upload_delimiter_does_not_matter(tmp_path: Path) -> None:
    model = _fit(tmp_path)
    semicolons = store(tmp_path, "semi", TRAIN.replace(",", ";"), UploadSpec(id_delimiter=";"))
    result = transform(read(semicolons, tmp_path / "sr"), tmp_path / "sd", model)
    assert load_table(result.data["data"]).header == ["x0", "x1", "x2"]
