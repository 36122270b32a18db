"""LabelTransform: encoders given or learned, replay, prediction tables decoded, refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_feature_scale import replay, run, table

from fedloom.components import (
    REGISTRY,
    ComponentError,
    load_model,
    load_table,
    load_table_with_meta,
    save_table,
)
from fedloom.data import Table

pytestmark = pytest.mark.unit

X = np.zeros((4, 1))
LABELS = [2.0, 5.0, 2.0, 9.0]


def labelled(path: Path, labels: list[float] = LABELS) -> Path:
    """A one-column table with labels."""
    return table(path, np.zeros((len(labels), 1)), ["x"], labels)


def predictions(path: Path, labels: list[float], results: list[float], classes: list[str]) -> Path:
    """A one-vs-rest prediction table as the GLM components write it."""
    details = [json.dumps({c: 1.0 / len(classes) for c in classes}) for _ in labels]
    meta = {
        "source": "HeteroLR",
        "type": "test",
        "classes": classes,
        "predict_detail": details,
        "columns": ["id", "label", "predict_result", "predict_score", "predict_detail", "type"],
    }
    rows = len(labels)
    features = np.column_stack([results, np.full(rows, 0.5)])
    ids = [f"r{i}" for i in range(rows)]
    return save_table(
        path, Table(ids, ["predict_result", "predict_score"], features, np.asarray(labels)), meta
    )


def test_declaration() -> None:
    spec = REGISTRY["LabelTransform"]
    assert spec.roles == ("guest", "host") and spec.required_roles == ("guest",)
    assert spec.model_inputs == {"model": (0, 1)}


def test_learned_encoder_and_replay(tmp_path: Path) -> None:
    fitted, out = replay("LabelTransform", tmp_path, labelled(tmp_path / "t.npz"))
    assert out.labels is not None and out.labels.tolist() == [0, 1, 0, 2]
    param = load_model(fitted.model)["param"]  # type: ignore[arg-type]
    assert param == {
        "label_encoder": {"2": "0", "5": "1", "9": "2"},
        "encoder_key_type": {"2": "int", "5": "int", "9": "int"},
        "encoder_value_type": {"2": "int", "5": "int", "9": "int"},
    }


def test_given_encoder_with_label_list(tmp_path: Path) -> None:
    encoder = {"2": 1, "5": 0, "9.0": 0}
    fitted, out = replay(
        "LabelTransform",
        tmp_path,
        labelled(tmp_path / "t.npz"),
        label_encoder=encoder,
        label_list=[2, 5, 9.0],
    )
    assert out.labels is not None and out.labels.tolist() == [1, 0, 1, 0]
    param = load_model(fitted.model)["param"]  # type: ignore[arg-type]
    assert param["encoder_key_type"] == {"2": "int", "5": "int", "9.0": "float"}
    assert param["label_encoder"] == {"2": "1", "5": "0", "9.0": "0"}


def test_prediction_tables_are_decoded_with_the_model(tmp_path: Path) -> None:
    fitted = run("LabelTransform", labelled(tmp_path / "t.npz"), tmp_path / "f")
    scored = predictions(tmp_path / "p.npz", [0, 2, 1], [0, 1, 2], ["0", "1", "2"])
    result = run("LabelTransform", scored, tmp_path / "d", fitted.model)
    out, meta = load_table_with_meta(result.data["data"])
    assert out.labels is not None and out.labels.tolist() == [2, 9, 5]
    assert out.features[:, 0].tolist() == [2, 5, 9]
    assert out.features[:, 1].tolist() == [0.5, 0.5, 0.5]
    assert json.loads(meta["predict_detail"][0]) == {"2": 1 / 3, "5": 1 / 3, "9": 1 / 3}
    assert meta["classes"] == ["2", "5", "9"] and meta["type"] == "test"


def test_regression_predictions_pass_unchanged(tmp_path: Path) -> None:
    fitted = run("LabelTransform", labelled(tmp_path / "t.npz"), tmp_path / "f")
    path = predictions(tmp_path / "p.npz", [2.5], [2.7], ["0"])
    _, meta = load_table_with_meta(path)
    meta["predict_detail"] = [json.dumps({"label": 2.7})]
    raw, _ = load_table_with_meta(path)
    save_table(path, raw, meta)
    result = run("LabelTransform", path, tmp_path / "d", fitted.model)
    out = load_table(result.data["data"])
    assert out.labels is not None and out.labels.tolist() == [2.5] and result.metrics["regression"]


def test_unknown_labels_are_named(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match=r"label 9 of id 'r3' \(row 4\) is not in the label"):
        run(
            "LabelTransform",
            labelled(tmp_path / "t.npz"),
            tmp_path / "o",
            label_encoder={"2": 0, "5": 1},
        )
    fitted = run("LabelTransform", labelled(tmp_path / "t.npz"), tmp_path / "f")
    other = labelled(tmp_path / "n.npz", [5.0, 7.0])
    with pytest.raises(ComponentError, match=r"label 7 of id 'r1' \(row 2\)"):
        run("LabelTransform", other, tmp_path / "n", fitted.model)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"label_encoder": {"Yes": 1}}, "'Yes' is not a number; fedloom's labels are numeric"),
        ({"label_encoder": {"1": 0, "1.0": 1}}, "names one label twice"),
        ({"label_encoder": {"1": "a"}}, "valid number"),
        ({"label_list": [1]}, "set label_encoder too"),
        ({"label_encoder": {"1": 0, "2": 1}, "label_list": [1, 3]}, "must list label_encoder"),
    ],
)
def test_bad_parameters_are_refused(tmp_path: Path, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        run("LabelTransform", labelled(tmp_path / "t.npz"), tmp_path / "o", **params)


def test_a_host_passes_its_table_through(tmp_path: Path) -> None:
    data = table(tmp_path / "h.npz", X, ["h"])
    result = run("LabelTransform", data, tmp_path / "h", role="host", label_encoder={"1": 0})
    assert result.model is None and load_table(result.data["data"]).labels is None
    nothing = run("LabelTransform", None, tmp_path / "n", role="host")
    assert nothing.data == {} and nothing.model is None
    with pytest.raises(ComponentError, match="no labels to learn an encoder from"):
        run("LabelTransform", data, tmp_path / "g")


def test_unlabelled_predict_table_passes_in_transform_mode(tmp_path: Path) -> None:
    fitted = run("LabelTransform", labelled(tmp_path / "t.npz"), tmp_path / "f")
    data = table(tmp_path / "u.npz", X, ["x"])
    result = run("LabelTransform", data, tmp_path / "u", fitted.model)
    assert load_table(result.data["data"]).labels is None
