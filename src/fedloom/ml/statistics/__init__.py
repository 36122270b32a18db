"""Column statistics of one party's table (DataStatistics): local, nothing crosses parties."""

from fedloom.ml.statistics.summary import (
    LEGAL_STATISTICS,
    column_statistics,
    is_percentile,
    percentile_of,
)

__all__ = ["LEGAL_STATISTICS", "column_statistics", "is_percentile", "percentile_of"]
