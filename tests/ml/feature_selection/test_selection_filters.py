"""The selection filters as pure functions, and the federated exchange's checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fedloom.ml.feature_selection import (
    SelectionError,
    by_rule,
    check_positions,
    correlation_filter,
    percentage_value,
    unique_value,
)

pytestmark = pytest.mark.unit


def test_unique_and_percentage_value() -> None:
    x = np.array([[1.0, 0.0, 5.0], [1.0, 0.0, np.nan], [1.0 + 1e-7, 1.0, 6.0], [1.0, 0.0, 7.0]])
    keep, spans = unique_value(x, 1e-5)
    assert keep.tolist() == [False, True, True] and spans[2] == 2.0
    keep, shares = percentage_value(x, 0.7)
    assert shares.tolist() == [0.75, 0.75, 0.25] and keep.tolist() == [False, False, True]


def test_by_rule_threshold_top_k_percentile() -> None:
    values = {"a": 0.1, "b": 0.5, "c": math.nan, "d": 0.3, "e": 0.5}
    assert by_rule(values, "threshold", 0.3, True) == ["b", "d", "e"]
    assert by_rule(values, "threshold", 0.3, False) == ["a", "d"]
    assert by_rule(values, "threshold", 0.3, True, {"d": 0.4, "a": 0.0}) == ["a", "b", "e"]
    assert by_rule(values, "top_k", 2, True) == ["b", "e"]  # ties keep input order
    assert by_rule(values, "top_k", 2, False) == ["a", "d"]
    assert by_rule(values, "top_percentile", 0.5, True) == ["b", "d", "e"]  # ceil(2.5)
    assert by_rule(values, "top_k", 9, True) == ["a", "b", "d", "e"]  # NaN never kept


def test_correlation_filter_is_greedy_by_order() -> None:
    corr = {("a", "b"): 0.95, ("a", "c"): 0.2, ("b", "c"): 0.97}

    def lookup(x: str, y: str) -> float | None:
        return corr.get((x, y), corr.get((y, x)))

    assert correlation_filter(["a", "b", "c"], lookup, 0.9, {"a", "b", "c"}) == ["a", "c"]
    assert correlation_filter(["b", "a", "c"], lookup, 0.9, {"a", "c"}) == ["b"]
    assert correlation_filter(["a", "d"], lookup, 0.1, {"a", "d"}) == ["a", "d"]  # unknown r


def test_positions_from_a_peer_are_checked() -> None:
    assert check_positions([3, 1]) == [1, 3]
    for bad in [[1, 1], [-1], ["a"], [True], "1", None]:
        with pytest.raises(SelectionError):
            check_positions(bad)
