"""Column statistics against numpy / scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from fedloom.ml.statistics import LEGAL_STATISTICS, column_statistics, percentile_of

pytestmark = pytest.mark.unit


def _data() -> np.ndarray:
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, size=(200, 3))
    x[5, 0] = np.nan
    x[7, 1] = -999.0
    return x


@pytest.mark.parametrize("bias", [True, False])
def test_matches_numpy_and_scipy(bias: bool) -> None:
    x = _data()
    got = column_statistics(x, [*LEGAL_STATISTICS, "95%", "2.5%"], [-999.0], bias)
    for j in range(3):
        col = x[:, j]
        col = col[~np.isnan(col) & (col != -999.0)]
        assert got["count"][j] == col.size
        assert got["missing_count"][j] == 200 - col.size
        assert got["missing_ratio"][j] == pytest.approx((200 - col.size) / 200)
        assert got["mean"][j] == pytest.approx(col.mean())
        assert got["sum"][j] == pytest.approx(col.sum())
        assert got["variance"][j] == pytest.approx(col.var())
        assert got["stddev"][j] == pytest.approx(col.std())
        assert got["coefficient_of_variance"][j] == pytest.approx(col.std() / col.mean())
        assert got["min"][j] == col.min() and got["max"][j] == col.max()
        assert got["skewness"][j] == pytest.approx(stats.skew(col, bias=bias))
        assert got["kurtosis"][j] == pytest.approx(stats.kurtosis(col, bias=bias))
        assert got["median"][j] == np.quantile(col, 0.5, method="inverted_cdf")
        assert got["95%"][j] == np.quantile(col, 0.95, method="inverted_cdf")
        assert got["2.5%"][j] == np.quantile(col, 0.025, method="inverted_cdf")


def test_undefined_values_are_nan() -> None:
    x = np.array([[1.0, np.nan], [1.0, np.nan]])
    got = column_statistics(x, ["skewness", "mean", "count", "missing_ratio"])
    assert np.isnan(got["skewness"][0]) and np.isnan(got["mean"][1])
    assert got["count"].tolist() == [2.0, 0.0]
    assert got["missing_ratio"].tolist() == [0.0, 1.0]


def test_percentile_names() -> None:
    assert percentile_of("95%") == 0.95
    with pytest.raises(ValueError):
        percentile_of("101%")
