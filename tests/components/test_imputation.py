"""FeatureImputation: fill methods, missing markers, fit and transform replay, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_feature_scale import replay, run, table

from fedloom.components import REGISTRY, ComponentError, load_model, load_table

pytestmark = pytest.mark.unit

NAN = np.nan
HEADER = ["a", "b", "c"]
X = np.array([[1.0, -999.0, NAN], [NAN, 4.0, 2.0], [5.0, 6.0, 3.0], [6.0, 8.0, NAN]])


def test_declaration() -> None:
    spec = REGISTRY["FeatureImputation"]
    assert spec.roles == ("guest", "host") and spec.model_inputs == {"model": (0, 1)}


def test_methods_per_column_and_replay(tmp_path: Path) -> None:
    data = table(tmp_path / "t.npz", X, HEADER)
    fitted, out = replay(
        "FeatureImputation",
        tmp_path,
        data,
        missing_fill_method="mean",
        col_missing_fill_method={"b": "Median", "c": "designated"},
        default_value=[0, 0, 7],
        missing_impute=[-999, "NA"],
    )
    expected = np.array([[1, 6, 7], [4, 4, 2], [5, 6, 3], [6, 8, 7]], dtype=float)
    np.testing.assert_allclose(out.features, expected)
    assert fitted.metrics["filled_cells"] == 4
    imputer = load_model(fitted.model)["param"]["imputer_param"]  # type: ignore[arg-type]
    assert imputer["missing_replace_value"] == {"a": 4.0, "b": 6.0, "c": 7.0}
    assert imputer["cols_replace_method"] == {"a": "mean", "b": "median", "c": "designated"}
    assert imputer["missing_value_ratio"] == {"a": 0.25, "b": 0.25, "c": 0.5}
    assert imputer["skip_cols"] == []
    meta = load_model(fitted.model)["meta"]  # type: ignore[arg-type]
    assert meta["imputer_meta"]["missing_value"] == [-999.0]


@pytest.mark.parametrize(("method", "value"), [("min", 1.0), ("max", 6.0), ("median", 5.0)])
def test_statistics(tmp_path: Path, method: str, value: float) -> None:
    data = table(tmp_path / "t.npz", X[:, :1], ["a"])
    _, out = replay("FeatureImputation", tmp_path, data, missing_fill_method=method)
    assert out.features[1, 0] == value


def test_columns_without_a_method_are_skipped(tmp_path: Path) -> None:
    data = table(tmp_path / "t.npz", X, HEADER)
    fitted, out = replay("FeatureImputation", tmp_path, data, col_missing_fill_method={"a": "max"})
    assert out.features[1, 0] == 6.0 and np.isnan(out.features[0, 2])
    assert out.features[0, 1] == -999.0  # not listed as missing
    imputer = load_model(fitted.model)["param"]["imputer_param"]  # type: ignore[arg-type]
    assert imputer["skip_cols"] == ["b", "c"]


def test_transform_applies_the_trained_values(tmp_path: Path) -> None:
    data = table(tmp_path / "t.npz", X, HEADER)
    fitted = run(
        "FeatureImputation", data, tmp_path / "f", missing_fill_method="mean", missing_impute=[-999]
    )
    new = table(tmp_path / "n.npz", np.array([[NAN, -999.0, 100.0]]), ["c", "b", "a"])
    out = load_table(run("FeatureImputation", new, tmp_path / "a", fitted.model).data["data"])
    assert out.header == ["c", "b", "a"]
    np.testing.assert_allclose(out.features, [[2.5, 6.0, 100.0]])
    lacking = table(tmp_path / "l.npz", np.array([[1.0]]), ["a"])
    with pytest.raises(ComponentError, match=r"no column 'b', 'c' \(imputed by the model\)"):
        run("FeatureImputation", lacking, tmp_path / "l", fitted.model)
    with pytest.raises(ComponentError, match="missing_fill_method 'max' differs from the model's"):
        run("FeatureImputation", new, tmp_path / "x", fitted.model, missing_fill_method="max")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"missing_fill_method": "mode"}, "expected one of 'designated', 'mean'"),
        ({"col_missing_fill_method": {"a": "knn"}}, "expected one of"),
        ({"missing_impute": ["unknown"]}, "fedloom tables are numeric"),
        ({"missing_fill_method": "mean", "default_value": 3}, "fills 'designated' columns only"),
        ({"missing_fill_method": "designated", "default_value": [1]}, "lists 1 values"),
        ({"col_missing_fill_method": {"z": "mean"}}, r"no column 'z' \(col_missing_fill_method\)"),
        ({"missing_fill_method": "designated", "default_value": None}, "needs a value"),
    ],
)
def test_bad_parameters_are_refused(tmp_path: Path, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        run("FeatureImputation", table(tmp_path / "t.npz", X, HEADER), tmp_path / "o", **params)


def test_a_column_without_values_cannot_take_a_statistic(tmp_path: Path) -> None:
    data = table(tmp_path / "t.npz", np.array([[NAN], [NAN]]), ["e"])
    with pytest.raises(ComponentError, match="column 'e': the column has no present value"):
        run("FeatureImputation", data, tmp_path / "o", missing_fill_method="mean")
