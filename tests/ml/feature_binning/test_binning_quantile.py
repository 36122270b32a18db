"""The quantile summary's error bound, split-point methods, WOE/IV and optimal merging."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fedloom.ml.feature_binning import BinningConfig, OptimalConfig, QuantileSummary, woe_iv
from fedloom.ml.feature_binning.optimal import optimal_ends
from fedloom.ml.feature_binning.splits import bin_index, bucket_points, quantile_points


def rank_interval(data: np.ndarray, value: float) -> tuple[int, int]:
    """The ranks (1-based) ``value`` occupies in ``data``."""
    return int(np.sum(data < value)) + 1, int(np.sum(data <= value))


@pytest.mark.unit
@pytest.mark.parametrize(
    ("error", "compress", "head"), [(0.001, 10000, 10000), (0.01, 200, 100), (0.05, 50, 37)]
)
def test_quantile_summary_answers_within_its_error_bound(
    error: float, compress: int, head: int
) -> None:
    rng = np.random.default_rng(3)
    data = np.concatenate([rng.lognormal(size=15000), rng.integers(0, 20, 5000).astype(float)])
    rng.shuffle(data)
    summary = QuantileSummary(error, compress, head)
    summary.insert(data)
    n = data.size
    assert summary.count == n
    if error > 0.001:
        assert summary.values.size < n / 4  # it compressed
    for q in np.linspace(0, 1, 41):
        low, high = rank_interval(data, summary.query(float(q)))
        target = math.ceil(q * n)
        slack = error * n + 1
        assert low - slack <= max(target, 1) <= high + slack, (q, low, high, target)


@pytest.mark.unit
def test_quantile_and_bucket_points_end_at_the_maximum_and_bins_follow_them() -> None:
    rng = np.random.default_rng(0)
    column = rng.normal(size=2000)
    points = quantile_points(column, 10, BinningConfig())
    assert len(points) == 10 and points[-1] == column.max()
    counts = np.bincount(bin_index(column, points))
    assert counts.min() > 150  # about 200 rows each
    bucket = bucket_points(column, 4)
    assert len(bucket) == 4 and bucket[-1] == column.max()
    assert np.allclose(np.diff(bucket), (column.max() - column.min()) / 4)
    assert bin_index(np.array([points[0], points[0] + 1e-9, 99.0]), points).tolist() == [0, 1, 9]
    assert quantile_points(np.ones(50), 10, BinningConfig()) == [1.0]


@pytest.mark.unit
def test_woe_and_iv_follow_fate_with_the_adjustment_factor() -> None:
    result = woe_iv([10, 0, 30], [40, 20, 10], 0.5)
    e_total, n_total = 40.0, 70.0
    rates = [
        (10 / e_total, 40 / n_total),
        (0.5 / e_total, 20.5 / n_total),
        (30 / e_total, 10 / n_total),
    ]
    woe = [math.log(e / n) for e, n in rates]
    iv = sum((e - n) * w for (e, n), w in zip(rates, woe, strict=True))
    assert result["woe_array"] == pytest.approx(woe)
    assert result["iv"] == pytest.approx(iv)
    assert result["event_count_array"] == [10, 0, 30]
    assert result["is_woe_monotonic"] is False
    assert woe_iv([1, 2, 3], [3, 2, 1], 0.5)["is_woe_monotonic"] is True


@pytest.mark.unit
@pytest.mark.parametrize("metric", ["iv", "gini", "chi_square", "ks"])
def test_optimal_merging_keeps_intervals_and_respects_bin_num(metric: str) -> None:
    rng = np.random.default_rng(1)
    events = rng.integers(0, 30, 60)
    non_events = rng.integers(0, 30, 60)
    config = OptimalConfig(metric_method=metric, min_bin_pct=0.05)  # type: ignore[arg-type]
    ends = optimal_ends(events, non_events, config, 6)
    assert ends[-1] == 59 and ends == sorted(set(ends)) and len(ends) <= 6
    starts = [0] + [e + 1 for e in ends[:-1]]
    total = events.sum() + non_events.sum()
    for s, e in zip(starts, ends, strict=True):
        ev, ne = events[s : e + 1].sum(), non_events[s : e + 1].sum()
        assert ev > 0 and ne > 0  # mixture
        assert ev + ne >= 0.05 * total
