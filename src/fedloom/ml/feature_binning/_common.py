"""What the guest and the hosts share: fitting split points locally, applying them, message
checks."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fedloom.federation import FederationError, PartyHandle
from fedloom.ml.feature_binning.params import BinningConfig, ColumnSpec
from fedloom.ml.feature_binning.splits import (
    bin_index,
    category_index,
    category_points,
    numeric_points,
)

Vector = NDArray[np.float64]
Bins = NDArray[np.int64]
T = TypeVar("T")

MAX_BINS = 100_000
"""The most bins (over all columns) a party accepts to sum or decrypt for a peer."""


@dataclass
class ColumnBins:
    """One column's split points and the bin of each row."""

    spec: ColumnSpec
    points: list[float]
    bins: Bins

    @property
    def size(self) -> int:
        """Number of bins."""
        return len(self.points)

    @property
    def mergeable(self) -> bool:
        """Whether optimal binning may merge its bins (numeric columns only)."""
        return self.spec.kind == "numeric"


def check_matrix(x: ArrayLike, columns: list[ColumnSpec]) -> Vector:
    """A 2-D float matrix whose binned columns are finite (missing values are refused)."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"binning needs a non-empty 2-D table, got shape {arr.shape}")
    for spec in columns:
        if not 0 <= spec.index < arr.shape[1]:
            raise ValueError(f"column {spec.name!r} is not in the table")
        bad = np.flatnonzero(~np.isfinite(arr[:, spec.index]))
        if bad.size:
            raise ValueError(
                f"column {spec.name!r} has a missing or infinite value at row {int(bad[0]) + 1}: "
                "fill missing values first (DataTransform missing_fill)"
            )
    return arr


def fit_columns(x: Vector, columns: list[ColumnSpec], config: BinningConfig) -> list[ColumnBins]:
    """Each column's split points by its kind; ``optimal`` numeric columns get their initial
    buckets (``init_bin_nums`` by ``init_bucket_method``), merged later with the labels."""
    out = []
    for spec in columns:
        column = x[:, spec.index]
        if spec.kind == "given":
            points = list(spec.points)
        elif spec.kind == "category":
            points = category_points(column)
        elif config.method == "optimal":
            init = config.optimal
            points = numeric_points(
                column, _with_method(config, init.init_bucket_method), init.init_bin_nums
            )
        else:
            points = numeric_points(column, config, config.bin_num)
        out.append(ColumnBins(spec, points, assign(column, spec, points)))
    return out


def _with_method(config: BinningConfig, method: str) -> BinningConfig:
    return replace(config, method=method)  # type: ignore[arg-type]


def assign(column: Vector, spec: ColumnSpec, points: list[float]) -> Bins:
    """The bin of each value of ``column`` under ``points``."""
    if spec.kind == "category":
        return category_index(column, points, spec.name)
    return bin_index(column, points)


def merged(col: ColumnBins, ends: list[int]) -> ColumnBins:
    """``col`` with its bins merged so that bin k ends at initial bin ``ends[k]``."""
    stops = np.asarray(ends, dtype=np.int64)
    bins = np.searchsorted(stops, col.bins, side="left").astype(np.int64)
    return ColumnBins(col.spec, [col.points[j] for j in ends], bins)


def check_ends(value: object, size: int, peer: PartyHandle) -> list[int]:
    """A peer's merge plan for a column of ``size`` bins: ascending ints ending at size − 1."""
    if not isinstance(value, list) or not value or not all(type(v) is int for v in value):
        raise FederationError(f"{peer.party} sent a malformed merge plan")
    if value[-1] != size - 1 or value[0] < 0 or any(b <= a for a, b in itertools.pairwise(value)):
        raise FederationError(f"{peer.party} sent a merge plan outside the column's bins")
    return list(value)


def expect(value: object, kind: type[T], what: str, peer: PartyHandle) -> T:
    """Type-check a value from a peer; the error names the peer and the message only."""
    if not isinstance(value, kind):
        raise FederationError(f"{peer.party} sent {type(value).__name__} as {what!r}")
    return value


def int_list(value: object, what: str, peer: PartyHandle) -> list[int]:
    """A list of non-negative ints from a peer."""
    if not isinstance(value, list) or not all(type(v) is int and v >= 0 for v in value):
        raise FederationError(f"{peer.party} sent a malformed {what!r}")
    return list(value)


def task_message(stats: bool, optimal: bool) -> dict[str, Any]:
    """The guest's announcement: whether hosts sum labels, and whether bins get merged."""
    return {"stats": stats, "optimal": optimal}
