"""FeatureScale: fit, transform replay, FATE's bounds and modes, refused parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fedloom.components import (
    REGISTRY,
    ComponentError,
    InputArtifact,
    TaskResult,
    load_model,
    load_table,
    run_task,
    save_table,
)
from fedloom.data import Table
from fedloom.federation import Context, InMemoryTransport, JobParties, Messenger, Party

pytestmark = pytest.mark.unit

HEADER = ["a", "b", "c"]
X = np.array([[1.0, 10.0, 5.0], [2.0, 20.0, 5.0], [3.0, 30.0, 5.0], [4.0, 40.0, 5.0]])


def context(role: str = "guest") -> Context:
    """A context for tasks that talk to no peer."""
    parties = JobParties.of(guest=9999, hosts=[10000], arbiter=10001)
    local = Party("guest", 9999) if role == "guest" else Party("host", 10000)
    messenger = Messenger(InMemoryTransport(), "job", local)
    return Context(local=local, parties=parties, messenger=messenger).sub("cpn")


def table(
    path: Path,
    x: np.ndarray[Any, Any] = X,
    header: list[str] | None = None,
    labels: list[float] | None = None,
) -> Path:
    """A data table of ``x`` (ids r0, r1, ...)."""
    ids = [f"r{i}" for i in range(x.shape[0])]
    y = None if labels is None else np.asarray(labels, dtype=np.float64)
    return save_table(path, Table(ids, header or list(HEADER), x, y))


def run(
    module: str,
    data: Path | None,
    out: Path,
    model: Path | None = None,
    role: str = "guest",
    **params: Any,
) -> TaskResult:
    """Run ``module`` at one party: fit, or transform with ``model``."""
    inputs = {} if data is None else {"data": InputArtifact("data", data)}
    if model is not None:
        inputs["model"] = InputArtifact("model", model)
    party = 9999 if role == "guest" else 10000
    return run_task(module, role, party, context(role), params, inputs, out)


def replay(module: str, tmp_path: Path, data: Path, **params: Any) -> tuple[TaskResult, Table]:
    """Fit on ``data``; check that transforming ``data`` with the model gives the same table."""
    fitted = run(module, data, tmp_path / "fit", **params)
    applied = run(module, data, tmp_path / "apply", fitted.model)
    first, second = load_table(fitted.data["data"]), load_table(applied.data["data"])
    assert first.header == second.header and first.ids == second.ids
    np.testing.assert_array_equal(first.features, second.features)
    assert applied.metrics["mode"] == "transform"
    assert load_model(applied.model) == load_model(fitted.model)  # type: ignore[arg-type]
    return fitted, first


def test_declaration() -> None:
    spec = REGISTRY["FeatureScale"]
    assert spec.roles == ("guest", "host") and spec.need_deploy
    assert spec.model_inputs == {"model": (0, 1)} and spec.data_inputs == {"data": (1, 1)}
    assert spec.outputs == frozenset({"data", "model"})


def test_min_max_fit_and_replay(tmp_path: Path) -> None:
    fitted, out = replay(
        "FeatureScale", tmp_path, table(tmp_path / "t.npz"), method="min_max_scale"
    )
    np.testing.assert_allclose(out.features[:, 0], [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(out.features[:, 1], [0, 1 / 3, 2 / 3, 1])
    assert out.features[:, 2].tolist() == [0, 0, 0, 0]  # a constant column divides by 1
    model = load_model(fitted.model)  # type: ignore[arg-type]
    assert model["meta"]["method"] == "min_max_scale" and model["meta"]["scale_column"] == HEADER
    assert model["param"]["header"] == HEADER
    assert model["param"]["col_scale_param"]["b"] == {
        "column_upper": 40.0,
        "column_lower": 10.0,
        "mean": 0.0,
        "std": 0.0,
    }


def test_standard_scale_matches_numpy_and_clips_new_data(tmp_path: Path) -> None:
    fitted, out = replay("FeatureScale", tmp_path, table(tmp_path / "t.npz"))
    expected = (X - X.mean(axis=0)) / np.where(X.std(axis=0) < 1e-6, 1, X.std(axis=0))
    np.testing.assert_allclose(out.features, expected)
    # new rows, other column order: columns are found by name, values clipped to the bounds
    other = table(tmp_path / "o.npz", np.array([[100.0, 0.0, 5.0]]), ["b", "a", "c"])
    applied = load_table(run("FeatureScale", other, tmp_path / "o", fitted.model).data["data"])
    assert applied.header == ["b", "a", "c"]
    np.testing.assert_allclose(applied.features[0], [expected[3, 1], expected[0, 0], 0.0])


def test_feat_bounds_normal_and_cap(tmp_path: Path) -> None:
    data = table(tmp_path / "t.npz")
    fitted, out = replay(
        "FeatureScale",
        tmp_path / "n",
        data,
        method="min_max_scale",
        feat_upper=[3, 25, 100],
        feat_lower=2,
    )
    np.testing.assert_allclose(out.features[:, 0], [0, 0, 1, 1])  # [2, 3]
    np.testing.assert_allclose(out.features[:, 1], [0, 2 / 3, 1, 1])  # [10, 25]
    cols = load_model(fitted.model)["param"]["col_scale_param"]  # type: ignore[arg-type]
    assert (cols["a"]["column_lower"], cols["a"]["column_upper"]) == (2.0, 3.0)
    _, cap = replay(
        "FeatureScale",
        tmp_path / "c",
        data,
        method="min_max_scale",
        mode="cap",
        feat_upper=0.75,
        feat_lower=0.25,
        scale_col_indexes=[0],
    )
    np.testing.assert_allclose(cap.features[:, 0], [0, 0.5, 1, 1])  # quantiles: 1, 3
    np.testing.assert_array_equal(cap.features[:, 1:], X[:, 1:])  # not scaled


def test_standard_scale_with_clipping_and_without_mean(tmp_path: Path) -> None:
    _, out = replay(
        "FeatureScale",
        tmp_path,
        table(tmp_path / "t.npz"),
        feat_upper=3,
        with_mean=False,
        scale_names=["a"],
        scale_col_indexes=[],
    )
    clipped = np.minimum(X[:, 0], 3)
    np.testing.assert_allclose(out.features[:, 0], clipped / clipped.std())
    np.testing.assert_array_equal(out.features[:, 1:], X[:, 1:])


def test_missing_cells_stay_missing(tmp_path: Path) -> None:
    x = X.copy()
    x[1, 0] = np.nan
    _, out = replay("FeatureScale", tmp_path, table(tmp_path / "t.npz", x), method="min_max_scale")
    assert np.isnan(out.features[1, 0])
    np.testing.assert_allclose(out.features[[0, 2, 3], 0], [0, 2 / 3, 1])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"method": "robust_scale"}, "expected one of 'min_max_scale', 'standard_scale'"),
        ({"mode": "clip"}, "expected one of 'normal', 'cap'"),
        ({"scale_col_indexes": 2}, "must be -1"),
        ({"scale_col_indexes": [-2]}, "must be ≥ 0"),
        ({"method": "min_max_scale", "with_std": False}, "apply to method 'standard_scale'"),
        ({"mode": "cap", "feat_upper": [0.5]}, "not a list"),
        ({"mode": "cap", "feat_upper": 2}, r"percentile in \[0, 1\]"),
        ({"feat_upper": 1, "feat_lower": 2}, "feat_upper 1 is below feat_lower 2"),
        ({"area": "all"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_parameters_are_refused(tmp_path: Path, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        run("FeatureScale", table(tmp_path / "t.npz"), tmp_path / "o", **params)


def test_bad_columns_are_named(tmp_path: Path) -> None:
    data = table(tmp_path / "t.npz")
    with pytest.raises(ComponentError, match=r"no column 'z' \(scale_names\)"):
        run("FeatureScale", data, tmp_path / "o1", scale_names=["z"])
    with pytest.raises(ComponentError, match=r"scale_col_indexes \[5\] are beyond"):
        run("FeatureScale", data, tmp_path / "o2", scale_col_indexes=[5])
    with pytest.raises(ComponentError, match="feat_upper lists 2 values, but the table has 3"):
        run("FeatureScale", data, tmp_path / "o3", feat_upper=[1, 2])


def test_transform_names_missing_columns_and_refuses_other_params(tmp_path: Path) -> None:
    fitted = run("FeatureScale", table(tmp_path / "t.npz"), tmp_path / "f", method="min_max_scale")
    lacking = table(tmp_path / "l.npz", X[:, :2], ["a", "c"])
    with pytest.raises(ComponentError, match=r"no column 'b' \(scaled by the model\)"):
        run("FeatureScale", lacking, tmp_path / "l", fitted.model)
    data = table(tmp_path / "t2.npz")
    with pytest.raises(ComponentError, match="mode 'cap' differs from the model's 'normal'"):
        run("FeatureScale", data, tmp_path / "x", fitted.model, mode="cap")
    # the defaults and the model's own values are accepted (the flow passes all parameters)
    run("FeatureScale", data, tmp_path / "y", fitted.model, method="min_max_scale")
    run("FeatureScale", data, tmp_path / "z", fitted.model, method="standard_scale")


def test_need_run_false_and_method_none_pass_through(tmp_path: Path) -> None:
    data = table(tmp_path / "t.npz")
    for name, params in (("n", {"need_run": False}), ("m", {"method": None})):
        result = run("FeatureScale", data, tmp_path / name, **params)
        assert result.model is None and result.metrics["mode"] == "pass_through"
        np.testing.assert_array_equal(load_table(result.data["data"]).features, X)


def test_host_scales_its_own_columns(tmp_path: Path) -> None:
    result = run("FeatureScale", table(tmp_path / "h.npz"), tmp_path / "h", role="host")
    assert load_table(result.data["data"]).features.shape == X.shape
