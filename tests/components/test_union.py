"""Union: tables of one party united in input order, duplicates dropped or renamed, headers
united by name with allow_missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fedloom.components import ComponentError, InputArtifact, load_table, save_table
from fedloom.data import Table
from fedloom.federation import JobParties, PartyFailed
from tests.ml.sampling.support import data, run

ALONE = JobParties.of(guest=9999)
GUEST = ALONE.guest
assert GUEST is not None


def table(out: Path, name: str, ids: list[str], header: list[str], start: float) -> Path:
    values = start + np.arange(len(ids) * len(header), dtype=np.float64)
    features = values.reshape(len(ids), len(header))
    return save_table(out / f"{name}.npz", Table(ids, header, features, np.zeros(len(ids))))


def unite(out: Path, inputs: dict[str, Path], **params: bool) -> Table:
    artifacts: dict[str, InputArtifact] = {k: data(p) for k, p in inputs.items()}
    results = run("Union", dict(params), {GUEST: artifacts}, out / "u", ALONE)
    return load_table(results[GUEST].data["data"])


@pytest.mark.integration
def test_rows_are_united_in_input_order_and_the_first_duplicate_wins(tmp_path: Path) -> None:
    a = table(tmp_path, "a", ["1", "2"], ["x", "y"], 0)
    b = table(tmp_path, "b", ["2", "3"], ["x", "y"], 100)
    empty = save_table(tmp_path / "e.npz", Table([], ["z"], np.zeros((0, 1)), np.zeros(0)))
    united = unite(tmp_path, {"data": a, "data_1": empty, "data_2": b})
    assert united.ids == ["1", "2", "3"]
    np.testing.assert_array_equal(united.features[:, 0], [0, 2, 102])
    kept = unite(tmp_path / "k", {"data": a, "data_1": b}, keep_duplicate=True)
    assert kept.ids == ["1", "2", "2_data_1", "3"]


@pytest.mark.integration
def test_headers_must_agree_unless_allow_missing(tmp_path: Path) -> None:
    a = table(tmp_path, "a", ["1"], ["x", "y"], 0)
    b = table(tmp_path, "b", ["2"], ["y", "z"], 10)
    with pytest.raises(PartyFailed, match="allow_missing") as info:
        unite(tmp_path, {"data": a, "data_1": b})
    assert isinstance(info.value.error, ComponentError)
    united = unite(tmp_path / "m", {"data": a, "data_1": b}, allow_missing=True)
    assert united.header == ["x", "y", "z"]
    np.testing.assert_array_equal(united.features[0], [0, 1, np.nan])
    np.testing.assert_array_equal(united.features[1], [np.nan, 10, 11])


@pytest.mark.unit
def test_unknown_fate_options_are_refused() -> None:
    from fedloom.components.union_param import UnionParam

    with pytest.raises(ValueError):
        UnionParam.model_validate({"feature_count": True})
