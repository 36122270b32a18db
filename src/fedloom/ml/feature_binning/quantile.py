"""An error-bounded quantile summary (Greenwald–Khanna, as FATE's and Spark's).

The summary keeps tuples ``(value, g, delta)`` sorted by value: ``g`` is the difference
between the smallest possible ranks of a tuple and its predecessor, ``delta`` the width of
its rank interval. Values arrive in buffers of ``head_size``; each buffer is sorted and
merged in; once ``compress_thres`` tuples are held, neighbours are merged while their combined
uncertainty stays below ``2·error·count``. A query for quantile ``q`` returns a value whose
rank lies within ``error·count`` of ``q·count`` (:meth:`QuantileSummary.query`), with memory
O((1/error)·log(error·count)) instead of the whole column.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

Vector = NDArray[np.float64]


class QuantileSummary:
    """A GK summary of one numeric column (FATE's ``compress_thres``, ``head_size``,
    ``error``)."""

    def __init__(
        self, error: float = 0.001, compress_thres: int = 10000, head_size: int = 10000
    ) -> None:
        if not 0 < error < 1:
            raise ValueError(f"error must be in (0, 1), got {error}")
        if compress_thres < 1 or head_size < 1:
            raise ValueError("compress_thres and head_size must be positive")
        self.error = float(error)
        self.compress_thres = int(compress_thres)
        self.head_size = int(head_size)
        self.count = 0
        self.values: Vector = np.zeros(0)
        self.g: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.delta: NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    def insert(self, values: ArrayLike) -> None:
        """Add finite values (in buffers of ``head_size``, compressing when large)."""
        column = np.asarray(values, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(column)):
            raise ValueError("a quantile summary takes finite values only")
        for start in range(0, column.size, self.head_size):
            self._merge(np.sort(column[start : start + self.head_size], kind="stable"))
            if self.values.size >= self.compress_thres:
                self.compress()

    def _merge(self, head: Vector) -> None:
        """Merge a sorted buffer: a new tuple's delta is ``⌊2·error·count⌋`` (count at its
        insertion), 0 for a new minimum or maximum of everything seen."""
        if head.size == 0:
            return
        counts = self.count + np.arange(1, head.size + 1, dtype=np.int64)
        delta = np.floor(2 * self.error * counts).astype(np.int64)
        if self.values.size == 0 or head[0] < self.values[0]:
            delta[0] = 0
        if self.values.size == 0 or head[-1] >= self.values[-1]:
            delta[-1] = 0
        values = np.concatenate([self.values, head])
        order = np.argsort(values, kind="stable")  # old tuples first among equal values
        self.values = values[order]
        self.g = np.concatenate([self.g, np.ones(head.size, dtype=np.int64)])[order]
        self.delta = np.concatenate([self.delta, delta])[order]
        self.count += int(head.size)

    def compress(self) -> None:
        """Merge neighbouring tuples whose joint uncertainty stays below ``2·error·count``;
        the first and last tuples (minimum and maximum) are always kept."""
        size = self.values.size
        if size < 3:
            return
        threshold = math.floor(2 * self.error * self.count)
        g, delta = self.g.tolist(), self.delta.tolist()
        keep: list[int] = []
        head, head_g = size - 1, g[size - 1]
        kept_g: list[int] = []
        for i in range(size - 2, 0, -1):
            if g[i] + head_g + delta[head] < threshold:
                head_g += g[i]
            else:
                keep.append(head)
                kept_g.append(head_g)
                head, head_g = i, g[i]
        keep.append(head)
        kept_g.append(head_g)
        keep.append(0)
        kept_g.append(g[0])
        index = np.asarray(keep[::-1], dtype=np.int64)
        self.values = self.values[index]
        self.g = np.asarray(kept_g[::-1], dtype=np.int64)
        self.delta = self.delta[index]

    def query(self, quantile: float) -> float:
        """A value whose rank is within ``error·count`` of ``quantile·count``."""
        if self.count == 0:
            raise ValueError("the summary is empty")
        if not 0 <= quantile <= 1:
            raise ValueError(f"quantile must be in [0, 1], got {quantile}")
        if quantile <= self.error:
            return float(self.values[0])
        if quantile >= 1 - self.error:
            return float(self.values[-1])
        rank = math.ceil(quantile * self.count)
        target = int(np.max(self.g + self.delta)) // 2
        min_rank = np.cumsum(self.g)
        max_rank = min_rank + self.delta
        ok = (max_rank - target <= rank) & (rank <= min_rank + target)
        ok[-1] = True
        return float(self.values[int(np.argmax(ok))])

    def queries(self, quantiles: ArrayLike) -> Vector:
        """:meth:`query` for each quantile."""
        return np.array([self.query(float(q)) for q in np.asarray(quantiles).reshape(-1)])
