"""DataStatistics: per-column statistics of each party's own table (FATE's StatisticsParam).

Local to each party: nothing is sent to or received from a peer. The output data is the input
table, unchanged (with a ``model`` input, as in a predict job that deploys it, that is all it
does; it is not deployed by default); the model holds the statistics in FATE's field names::

    {"module": "DataStatistics", "role": ..., "party_id": ...,
     "model_meta": {"statistics": [...], "abnormal_list": [...], "quantile_error": ...,
                    "bias": ...},
     "model_param": {"self_values": {"header": [selected columns],
                                     "results": [{"value_name": "mean",
                                                  "values": [one per header column]}, ...]}}}

Undefined values (a constant column's skewness, an all-missing column's mean) are ``null``.
Definitions: :mod:`fedloom.ml.statistics.summary`. ``quantile_error`` is met exactly: median
and percentiles are exact order statistics.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator

from fedloom.components.base import (
    PARTIES,
    ComponentDef,
    ComponentError,
    FateParam,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.io import json_safe, load_table_with_meta, save_model, save_table
from fedloom.ml.statistics import LEGAL_STATISTICS, column_statistics, is_percentile

__all__ = [
    "DATA_STATISTICS",
    "STATISTIC_ALIASES",
    "StatisticsParam",
    "run_data_statistics",
    "selected_columns",
]

STATISTIC_ALIASES: dict[str, str] = {
    "std": "stddev",
    "standard_deviation": "stddev",
    "coefficient_of_variation": "coefficient_of_variance",
}
"""Other spellings of FATE statistic names → the name in the model."""


def selected_columns(
    header: list[str], indexes: int | list[int] | None, names: list[str] | None, module: str
) -> list[int]:
    """Positions (in header order) chosen by FATE's ``column_indexes`` / ``column_names``.

    ``-1`` means every column; indexes and names add up. ComponentError names a bad index or
    an unknown column (the message stays at this party).
    """
    if indexes == -1:
        return list(range(len(header)))
    chosen: set[int] = set()
    for index in [] if indexes is None else ([indexes] if isinstance(indexes, int) else indexes):
        if not 0 <= index < len(header):
            raise ComponentError(
                f"{module}: column index {index} is out of range (the table has "
                f"{len(header)} columns)"
            )
        chosen.add(index)
    position = {name: k for k, name in enumerate(header)}
    for name in names or []:
        if name not in position:
            raise ComponentError(f"{module}: column {name!r} is not in the table")
        chosen.add(position[name])
    return sorted(chosen)


class StatisticsParam(FateParam):
    """FATE's StatisticsParam."""

    statistics: StrictStr | list[StrictStr] = "summary"
    column_names: list[StrictStr] | None = None
    column_indexes: StrictInt | list[StrictInt] | None = -1
    abnormal_list: list[StrictInt | StrictFloat | StrictStr] | None = None
    quantile_error: StrictFloat | StrictInt = Field(default=0.0001, gt=0, lt=1)
    bias: StrictBool = True
    need_run: StrictBool = True

    @field_validator("statistics")
    @classmethod
    def _statistics(cls, value: str | list[str]) -> str | list[str]:
        names = [value] if isinstance(value, str) else value
        if not names:
            raise ValueError("statistics lists no statistic")
        for raw in names:
            name = raw.lower()
            if name == "summary" and isinstance(value, str):
                continue
            if STATISTIC_ALIASES.get(name, name) not in LEGAL_STATISTICS and not is_percentile(
                name
            ):
                raise ValueError(
                    f"unknown statistic {raw!r}: use 'summary', a percentile such as '95%', "
                    f"or {', '.join(LEGAL_STATISTICS)}"
                )
        return value

    @field_validator("column_indexes")
    @classmethod
    def _indexes(cls, value: int | list[int] | None) -> int | list[int] | None:
        if isinstance(value, int) and value < -1:
            raise ValueError("column_indexes is -1 (all columns) or column positions")
        if isinstance(value, list) and any(v < 0 for v in value):
            raise ValueError("column_indexes are 0-based positions")
        return value

    def statistic_names(self) -> list[str]:
        """The statistics to compute, in FATE's names, each once."""
        if isinstance(self.statistics, str) and self.statistics.lower() == "summary":
            return list(LEGAL_STATISTICS)
        raw = [self.statistics] if isinstance(self.statistics, str) else self.statistics
        out: list[str] = []
        for name in raw:
            name = STATISTIC_ALIASES.get(name.lower(), name.lower())
            if name not in out:
                out.append(name)
        return out

    def abnormal_values(self) -> list[float]:
        """``abnormal_list`` as numbers (a table's features are numbers, so text such as
        ``"NA"`` only names the missing cells the table already holds as NaN)."""
        out: list[float] = []
        for value in self.abnormal_list or []:
            try:
                out.append(float(value))
            except ValueError:
                continue  # a token DataTransform already turned into NaN
        return out


def run_data_statistics(call: TaskCall) -> TaskResult:
    """DataStatistics at the guest or a host: input ``data`` → the same data + the model."""
    param = call.params
    assert isinstance(param, StatisticsParam)
    table, _ = load_table_with_meta(call.input("data", "data", "the table to describe").path)
    out = save_table(call.output_dir / "data.npz", table, {"source": "DataStatistics"})
    if not param.need_run:
        return TaskResult(data={"data": out}, metrics={"need_run": False})
    if "model" in call.inputs:
        # A predict job that deploys this analysis: the data passes through, nothing is sent.
        call.input("model", "model", "this module's model")
        return TaskResult(data={"data": out})
    header = list(table.header)
    if param.column_indexes is None and not param.column_names:
        raise ComponentError("DataStatistics: set column_indexes (-1 for all) or column_names")
    columns = selected_columns(header, param.column_indexes, param.column_names, call.module)
    names = param.statistic_names()
    values = column_statistics(
        table.features[:, columns], names, param.abnormal_values(), param.bias
    )
    document: dict[str, Any] = {
        "module": "DataStatistics",
        "role": call.role,
        "party_id": call.party_id,
        "model_meta": {
            "statistics": names,
            "abnormal_list": list(param.abnormal_list or []),
            "quantile_error": param.quantile_error,
            "bias": param.bias,
            "need_run": param.need_run,
        },
        "model_param": {
            "self_values": {
                "header": [header[k] for k in columns],
                "results": [
                    {"value_name": name, "values": json_safe(values[name])} for name in names
                ],
            }
        },
    }
    model = save_model(call.output_dir / "model.json", json_safe(document))
    return TaskResult(data={"data": out}, model=model)


DATA_STATISTICS = ComponentDef(
    module="DataStatistics",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=StatisticsParam,
    runners=same_runner(run_data_statistics, PARTIES),
    data_inputs={"data": (1, 1)},
    model_inputs={"model": (0, 1)},
    outputs=frozenset({"data", "model"}),
    need_deploy=False,
)
"""The DataStatistics module's declaration."""
