"""HeteroDataSplit: FATE's size rules, aligned parts at every party, stratification, the
hosts' checks, three named outputs the flow picks by the DSL's names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fedloom.components import REGISTRY, ComponentError, load_table, save_table
from fedloom.data import Table
from fedloom.federation import PartyFailed
from tests.ml.sampling.support import TWO, data, run, vertical

GUEST, HOST = TWO.guest, TWO.hosts[0]
assert GUEST is not None


def split(tables: tuple[Path, Path], out: Path, **params: object) -> dict[str, list[Table]]:
    """Split at both parties: the train, validate and test tables of each."""
    inputs = {GUEST: {"data": data(tables[0])}, HOST: {"data": data(tables[1])}}
    results = run("HeteroDataSplit", dict(params), inputs, out)
    names = ("train", "validate", "test")
    assert all(list(results[p].data) == list(names) for p in (GUEST, HOST))
    return {p.role: [load_table(results[p].data[n]) for n in names] for p in (GUEST, HOST)}


@pytest.mark.unit
def test_the_declaration_has_three_named_data_outputs() -> None:
    definition = REGISTRY["HeteroDataSplit"]
    assert definition.data_output_names == ("train", "validate", "test")
    assert definition.need_deploy is False


@pytest.mark.integration
def test_parts_are_aligned_across_parties_and_partition_the_rows(tmp_path: Path) -> None:
    tables = vertical(tmp_path, rows=200, shuffle_host=True)
    parts = split(
        tables, tmp_path / "s", train_size=0.6, validate_size=0.3, test_size=0.1, random_state=7
    )
    guest, host = parts["guest"], parts["host"]
    assert [len(t) for t in guest] == [120, 60, 20]
    for g, h in zip(guest, host, strict=True):
        assert g.ids == h.ids == sorted(g.ids)
        assert h.labels is None and g.labels is not None
    everything = [i for t in guest for i in t.ids]
    assert sorted(everything) == sorted(load_table(tables[0]).ids)
    again = split(
        tables, tmp_path / "again", train_size=0.6, validate_size=0.3, test_size=0.1, random_state=7
    )
    assert [t.ids for t in again["guest"]] == [t.ids for t in guest]


@pytest.mark.integration
def test_fates_default_sizes_and_counts(tmp_path: Path) -> None:
    tables = vertical(tmp_path, rows=50)
    parts = split(tables, tmp_path / "default", random_state=1)
    assert [len(t) for t in parts["guest"]] == [40, 10, 0]
    counts = split(tables, tmp_path / "counts", test_size=5, random_state=1)
    assert [len(t) for t in counts["guest"]] == [45, 0, 5]
    ordered = split(tables, tmp_path / "ordered", train_size=0.5, shuffle=False)
    ids = sorted(load_table(tables[0]).ids)
    assert ordered["guest"][0].ids == ids[:25] and ordered["guest"][2].ids == ids[25:]


@pytest.mark.integration
def test_stratified_split_keeps_the_class_shares(tmp_path: Path) -> None:
    tables = vertical(tmp_path, rows=300, positive=0.2)
    parts = split(
        tables, tmp_path / "s", stratified=True, validate_size=0.2, test_size=0.2, random_state=3
    )
    for part in parts["guest"]:
        assert part.labels is not None
        assert part.labels.mean() == pytest.approx(0.2, abs=0.01)


@pytest.mark.integration
def test_split_points_stratify_a_continuous_label(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    ids = [f"r{i:03d}" for i in range(400)]
    y = np.concatenate([rng.uniform(0, 1, 100), rng.uniform(5, 6, 300)])
    guest = save_table(tmp_path / "g.npz", Table(ids, ["a"], rng.normal(size=(400, 1)), y))
    host = save_table(tmp_path / "h.npz", Table(ids, ["b"], rng.normal(size=(400, 1))))
    parts = split(
        (guest, host),
        tmp_path / "s",
        stratified=True,
        split_points=[2.5],
        test_size=0.5,
        random_state=0,
    )
    for part in parts["guest"][::2]:
        assert part.labels is not None
        assert np.mean(part.labels < 2.5) == pytest.approx(0.25)


@pytest.mark.integration
def test_a_host_with_other_ids_is_refused_before_any_position_is_sent(tmp_path: Path) -> None:
    guest, _ = vertical(tmp_path, rows=30)
    other = save_table(
        tmp_path / "other.npz", Table([f"x{i}" for i in range(30)], ["h"], np.zeros((30, 1)))
    )
    inputs = {GUEST: {"data": data(guest)}, HOST: {"data": data(other)}}
    with pytest.raises(PartyFailed, match="intersect") as info:
        run("HeteroDataSplit", {}, inputs, tmp_path / "s")
    assert isinstance(info.value.error, ComponentError)
    assert "x1" not in str(info.value)


@pytest.mark.unit
def test_parameters_fate_refuses_are_refused() -> None:
    from fedloom.components.hetero_data_split_param import DataSplitParam

    for bad in (
        {"train_size": 0.5, "test_size": 10},
        {"stratified": True, "shuffle": False},
        {"test_size": 1.5},
        {"split_points": [1.0]},
    ):
        with pytest.raises(ValueError):
            DataSplitParam.model_validate(bad)


@pytest.mark.integration
def test_weights_follow_the_rows_into_each_part(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    ids = [f"r{i:02d}" for i in range(40)]
    weights = rng.uniform(0.5, 2.0, size=40)
    guest = save_table(
        tmp_path / "g.npz", Table(ids, ["a"], rng.normal(size=(40, 1)), np.zeros(40), weights)
    )
    host = save_table(tmp_path / "h.npz", Table(ids, ["b"], rng.normal(size=(40, 1))))
    parts = split((guest, host), tmp_path / "s", test_size=0.5, random_state=2)
    for part in parts["guest"]:
        assert part.weights is not None
        expected = [weights[ids.index(i)] for i in part.ids]
        np.testing.assert_array_equal(part.weights, expected)
