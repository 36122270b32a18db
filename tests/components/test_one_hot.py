"""OneHotEncoder: FATE's column names, fit and transform replay, unknown values, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_feature_scale import replay, run, table

from fedloom.components import REGISTRY, ComponentError, load_model, load_table

pytestmark = pytest.mark.unit

HEADER = ["x0", "x1", "x2"]
X = np.array([[1.0, 0.5, 3.0], [2.0, 1.5, 0.0], [1.0, 2.5, 3.0]])


def test_declaration() -> None:
    spec = REGISTRY["OneHotEncoder"]
    assert spec.roles == ("guest", "host") and spec.model_inputs == {"model": (0, 1)}


def test_fit_encodes_in_place_with_fate_names(tmp_path: Path) -> None:
    data = table(tmp_path / "t.npz", X, HEADER)
    fitted, out = replay(
        "OneHotEncoder",
        tmp_path,
        data,
        transform_col_names=["x2", "x0"],
        transform_col_indexes=None,
    )
    assert out.header == ["x0_1", "x0_2", "x1", "x2_0", "x2_3"]
    assert out.features.tolist() == [[1, 0, 0.5, 0, 1], [0, 1, 1.5, 1, 0], [1, 0, 2.5, 0, 1]]
    model = load_model(fitted.model)  # type: ignore[arg-type]
    assert model["meta"] == {
        "transform_col_names": ["x0", "x2"],
        "header": HEADER,
        "need_run": True,
    }
    assert model["param"]["col_map"]["x0"] == {
        "values": ["1", "2"],
        "transformed_headers": ["x0_1", "x0_2"],
    }
    assert model["param"]["result_header"] == out.header
    assert fitted.metrics["transferred_dimension"] == 5


def test_unknown_and_missing_values_encode_as_zeros(tmp_path: Path) -> None:
    data = table(tmp_path / "t.npz", X[:, [0, 2]], ["x0", "x2"])
    fitted = run("OneHotEncoder", data, tmp_path / "f")
    new = table(tmp_path / "n.npz", np.array([[3.0, 0.0], [np.nan, 3.0]]), ["x2", "x0"])
    applied = run("OneHotEncoder", new, tmp_path / "a", fitted.model)
    out = load_table(applied.data["data"])
    assert out.header == ["x2_0", "x2_3", "x0_1", "x0_2"]  # the table's column order
    assert out.features.tolist() == [[0, 1, 0, 0], [0, 0, 0, 0]]
    assert applied.metrics["unknown_values"] == 3


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (
            np.array([[1.0], [1.5]]),
            r"column 'x0' at id 'r1' \(row 2\): value 1.5 is not an integer",
        ),
        (np.array([[1.0], [np.nan]]), r"at id 'r1' \(row 2\): value nan is not an integer"),
        (np.arange(1025.0)[:, None], "1025 distinct values, more than the limit of 1024"),
    ],
)
def test_values_fate_cannot_encode_are_refused(
    tmp_path: Path, x: np.ndarray[Any, Any], message: str
) -> None:
    with pytest.raises(ComponentError, match=message):
        run("OneHotEncoder", table(tmp_path / "t.npz", x, ["x0"]), tmp_path / "o")


def test_bad_parameters_and_columns(tmp_path: Path) -> None:
    data = table(tmp_path / "t.npz", X, HEADER)
    with pytest.raises(ComponentError, match="must be -1"):
        run("OneHotEncoder", data, tmp_path / "a", transform_col_indexes=0)
    with pytest.raises(ComponentError, match=r"transform_col_indexes \[3\] are beyond"):
        run("OneHotEncoder", data, tmp_path / "b", transform_col_indexes=[3])
    with pytest.raises(ComponentError, match=r"no column 'q' \(transform_col_names\)"):
        run(
            "OneHotEncoder",
            data,
            tmp_path / "c",
            transform_col_indexes=[],
            transform_col_names=["q"],
        )
    with pytest.raises(ComponentError, match="need_alignment"):
        run("OneHotEncoder", data, tmp_path / "d", need_alignment=True)
    clash = table(tmp_path / "k.npz", np.array([[1.0, 7.0]]), ["x", "x_1"])
    with pytest.raises(ComponentError, match=r"clash with columns: \['x_1'\]"):
        run(
            "OneHotEncoder",
            clash,
            tmp_path / "e",
            transform_col_names=["x"],
            transform_col_indexes=None,
        )


def test_transform_names_the_missing_column(tmp_path: Path) -> None:
    fitted = run(
        "OneHotEncoder", table(tmp_path / "t.npz", X[:, [0, 2]], ["x0", "x2"]), tmp_path / "f"
    )
    lacking = table(tmp_path / "l.npz", X[:, :1], ["x0"])
    with pytest.raises(ComponentError, match=r"no column 'x2' \(encoded by the model\)"):
        run("OneHotEncoder", lacking, tmp_path / "l", fitted.model)
    with pytest.raises(ComponentError, match="not a OneHotEncoder model"):
        other = run("FeatureScale", lacking, tmp_path / "s")
        run("OneHotEncoder", lacking, tmp_path / "m", other.model)
