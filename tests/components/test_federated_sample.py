"""FederatedSample: the guest draws, hosts follow; random and stratified, down- and upsample."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fedloom.components import load_table
from fedloom.components.federated_sample_param import SampleParam
from fedloom.data import Table
from fedloom.federation import PartyFailed
from tests.ml.sampling.support import TWO, data, run, vertical

GUEST, HOST = TWO.guest, TWO.hosts[0]
assert GUEST is not None


def sample(tables: tuple[Path, Path], out: Path, **params: Any) -> tuple[Table, Table]:
    inputs = {GUEST: {"data": data(tables[0])}, HOST: {"data": data(tables[1])}}
    results = run("FederatedSample", dict(params), inputs, out)
    return load_table(results[GUEST].data["data"]), load_table(results[HOST].data["data"])


@pytest.mark.integration
def test_random_downsample_draws_the_same_rows_at_every_party(tmp_path: Path) -> None:
    tables = vertical(tmp_path, rows=200, shuffle_host=True)
    guest, host = sample(tables, tmp_path / "s", fractions=0.3, random_state=5)
    assert len(guest) == 60 and guest.ids == host.ids
    assert len(set(guest.ids)) == 60
    source = load_table(tables[1])
    at = {i: k for k, i in enumerate(source.ids)}
    for k, sample_id in enumerate(host.ids):  # each host row is its own row of that id
        assert (host.features[k] == source.features[at[sample_id]]).all()


@pytest.mark.integration
def test_stratified_upsample_draws_each_class_at_its_rate(tmp_path: Path) -> None:
    tables = vertical(tmp_path, rows=200, positive=0.1)
    guest, host = sample(
        tables,
        tmp_path / "s",
        mode="stratified",
        method="upsample",
        fractions=[[0, 1.0], [1, 3.0]],
        random_state=2,
    )
    assert guest.labels is not None
    counts = Counter(guest.labels.tolist())
    assert counts == {0.0: 180, 1.0: 60}
    assert guest.ids == host.ids and len(set(guest.ids)) == len(guest.ids)
    copies = [i for i in guest.ids if "_" in i]
    assert copies and all(i.split("_")[0] in guest.ids for i in copies)


@pytest.mark.integration
def test_a_host_refuses_a_draw_the_parameters_do_not_give(tmp_path: Path) -> None:
    tables = vertical(tmp_path, rows=100)
    inputs = {GUEST: {"data": data(tables[0])}, HOST: {"data": data(tables[1])}}
    with pytest.raises(PartyFailed, match="other sizes"):
        run(
            "FederatedSample",
            {"fractions": 0.5, "random_state": 1},
            inputs,
            tmp_path / "s",
            only={HOST: {"fractions": 0.2, "random_state": 1}},
        )


@pytest.mark.unit
def test_parameters_are_checked_as_fate_documents_them() -> None:
    assert SampleParam.model_validate({"fractions": 0.5}).rates() == 0.5
    stratified = SampleParam.model_validate({"mode": "Stratified", "fractions": [[0, 0.5]]})
    assert stratified.rates() == {0.0: 0.5}
    for bad in (
        {},
        {"fractions": 1.5},
        {"mode": "stratified", "fractions": 0.5},
        {"mode": "stratified", "fractions": [[0, 0.5], [0, 0.2]]},
        {"fractions": 0.5, "task_type": "homo"},
    ):
        with pytest.raises(ValueError):
            SampleParam.model_validate(bad)
