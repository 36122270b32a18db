"""fedloom.ml.sampling: FATE's size rules, the draws, the weights and the hosts' checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fedloom.federation import FederationError, PartyFailed, run_parties
from fedloom.ml.sampling import (
    PartRules,
    balanced_class_weights,
    class_weights,
    column_weights,
    draw_sample,
    draw_split,
    follow_parts,
    id_digest,
    label_key,
    share_parts,
    split_sizes,
)
from tests.ml.sampling.support import TWO

GUEST, HOST = TWO.guest, TWO.hosts[0]
assert GUEST is not None


@pytest.mark.unit
@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ((None, None, None), (80, 20, 0)),
        ((None, None, 0.25), (75, 0, 25)),
        ((None, 0.1, None), (90, 10, 0)),
        ((0.7, None, None), (70, 0, 30)),
        ((0.5, 0.3, None), (50, 30, 20)),
        ((0.5, 0.25, 0.25), (50, 25, 25)),
        ((None, 10, 30), (60, 10, 30)),
    ],
)
def test_split_sizes_follow_fates_rules(sizes: Any, expected: tuple[int, int, int]) -> None:
    assert split_sizes(100, *sizes) == expected


@pytest.mark.unit
def test_split_sizes_refuse_what_does_not_add_up() -> None:
    with pytest.raises(ValueError, match="more than"):
        split_sizes(100, 0.8, 0.3, None)
    with pytest.raises(ValueError, match="not 1"):
        split_sizes(100, 0.5, 0.2, 0.2)
    with pytest.raises(ValueError, match="mix"):
        split_sizes(100, 0.5, 10, None)


@pytest.mark.unit
def test_a_split_partitions_the_rows() -> None:
    parts = draw_split(101, (50, 30, 21), np.random.default_rng(0))
    assert [p.size for p in parts] == [50, 30, 21]
    assert sorted(np.concatenate(parts).tolist()) == list(range(101))
    groups = np.repeat([0.0, 1.0], [80, 21])
    strat = draw_split(101, (50, 30, 21), np.random.default_rng(0), groups)
    assert sorted(np.concatenate(strat).tolist()) == list(range(101))


@pytest.mark.unit
def test_sampling_draws_the_documented_counts() -> None:
    rng = np.random.default_rng(1)
    down = draw_sample(50, 0.5, False, rng)
    assert down.size == 25 and np.unique(down).size == 25
    up = draw_sample(50, 2.0, True, rng)
    assert up.size == 100 and np.all(np.diff(up) >= 0)
    labels = np.repeat([0.0, 1.0], [40, 10])
    strat = draw_sample(50, {0.0: 0.25, 1.0: 1.0}, False, rng, labels)
    assert np.sum(labels[strat] == 0) == 10 and np.sum(labels[strat] == 1) == 10
    with pytest.raises(ValueError, match="no rate"):
        draw_sample(50, {0.0: 0.5}, False, rng, labels)


@pytest.mark.unit
def test_weights() -> None:
    labels = np.array([0.0, 0.0, 0.0, 1.0])
    balanced = balanced_class_weights(labels)
    assert balanced == pytest.approx({"0": 4 / 6, "1": 2.0})
    np.testing.assert_allclose(class_weights(labels, {"1": 3.0}), [1, 1, 1, 3])
    np.testing.assert_allclose(column_weights(np.array([1.0, 3.0]), True), [0.5, 1.5])
    assert label_key(2.0) == "2" and label_key(0.5) == "0.5"
    assert id_digest(["a", "b"]) == id_digest(["b", "a"]) != id_digest(["a", "bb"])


def _exchange(sent: Any, rules: PartRules, host_ids: list[str] | None = None) -> Any:
    ids = ["a", "b", "c", "d"]

    def guest(ctx: Any) -> None:
        digests = ctx.hosts.get("id_digest")
        ctx.hosts.put("aligned", digests[0] == id_digest(ids))
        ctx.hosts.put("parts", sent)

    def host(ctx: Any) -> Any:
        return follow_parts(ctx, host_ids or ids, rules)

    return run_parties(TWO, {GUEST: guest, HOST: host}, timeout=10).results[HOST]


@pytest.mark.integration
def test_hosts_check_the_parts_they_are_sent() -> None:
    good = [np.array([0, 2]), np.array([1, 3])]
    parts = _exchange(good, PartRules(2, partition=True))
    assert [p.tolist() for p in parts] == [[0, 2], [1, 3]]
    cases = [
        ([np.array([0, 9]), np.array([1, 3])], PartRules(2), "outside"),
        ([np.array([0, 2]), np.array([2, 3])], PartRules(2, partition=True), "every row once"),
        ([np.array([2, 0])], PartRules(1), "not sorted"),
        ([np.array([1, 1])], PartRules(1), "twice"),
        ([np.array([0, 1])], PartRules(1, sizes=(3,)), "other sizes"),
        ([np.array([0, 0, 1])], PartRules(1, distinct=False, max_rows=2), "more rows"),
        (["a"], PartRules(1), "malformed"),
    ]
    for sent, rules, message in cases:
        with pytest.raises(PartyFailed, match=message) as info:
            _exchange(sent, rules)
        assert isinstance(info.value.error, FederationError)


@pytest.mark.integration
def test_the_guest_sends_no_position_to_a_host_with_other_ids() -> None:
    def guest(ctx: Any) -> None:
        share_parts(ctx, ["a", "b"], [np.array([0, 1])])

    def host(ctx: Any) -> Any:
        return follow_parts(ctx, ["a", "c"], PartRules(1))

    with pytest.raises(PartyFailed, match="intersect") as info:
        run_parties(TWO, {GUEST: guest, HOST: host}, timeout=10)
    assert "'c'" not in str(info.value) and "'a'" not in str(info.value)
