"""FeatureScale: min-max or standard scaling of a party's own columns (FATE's ``ScaleParam``).

Runs at the guest and at each host on that party's table; nothing leaves the party.

**Fit** (input ``data``): the columns to scale are ``scale_col_indexes`` (``-1``: all) together
with ``scale_names``, in header order. Each column gets bounds: in mode ``normal`` its min and
max, limited to ``feat_lower`` / ``feat_upper`` where given (one number for every column, or a
list with one entry per column of the table, as FATE's lists are); in mode ``cap`` the
``feat_lower`` / ``feat_upper`` quantiles of the column (defaults 0 and 1). Values are clipped
to the bounds, then ``min_max_scale`` maps ``[lower, upper]`` to ``[0, 1]`` (a constant column
becomes 0) and ``standard_scale`` computes ``(x - mean) / std`` with the mean and population
standard deviation of the clipped training column (0 / 1 without ``with_mean`` /
``with_std``; a std below 1e-6 scales by 1). Missing cells stay missing. ``method`` None passes
the data through (FATE: "do nothing").

**Transform** (input ``model``): the fitted bounds, means and standard deviations are applied to
the same columns, found by name; a scaled column the table lacks is named in the error.

Model (FATE names): ``meta`` ``{method, mode, scale_column, feat_upper, feat_lower, with_mean,
with_std, need_run}``; ``param`` ``{col_scale_param: {column: {column_upper, column_lower, mean,
std}}, header}``.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from pydantic import (
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from fedloom.components._feature_transform import (
    check_against_model,
    finish,
    load_data,
    model_part,
    new_model,
    pass_through,
    positions,
    trained_model,
    with_columns,
)
from fedloom.components.base import (
    PARTIES,
    ComponentDef,
    ComponentError,
    FateParam,
    TaskCall,
    TaskResult,
    lower,
    same_runner,
    supported,
)
from fedloom.ml.transforms.scale import (
    ColumnScale,
    apply_scale,
    bounds,
    fit_min_max,
    fit_standard,
)

__all__ = ["FEATURE_SCALE", "FeatureScaleParam", "run_feature_scale"]

Number = StrictInt | StrictFloat
Bound = Number | list[Number] | None


class FeatureScaleParam(FateParam):
    """FATE's ScaleParam: names and defaults."""

    method: str | None = "standard_scale"
    mode: str = "normal"
    scale_col_indexes: StrictInt | list[StrictInt] = -1
    scale_names: list[StrictStr] | None = None
    feat_upper: Bound = None
    feat_lower: Bound = None
    with_mean: StrictBool = True
    with_std: StrictBool = True
    need_run: StrictBool = True

    _lower = field_validator("method", "mode", mode="before")(lower)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str | None) -> str | None:
        return None if value is None else supported(value, ("min_max_scale", "standard_scale"), {})

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        return supported(value, ("normal", "cap"), {})

    @field_validator("scale_col_indexes")
    @classmethod
    def _indexes(cls, value: int | list[int]) -> int | list[int]:
        if isinstance(value, int):
            if value != -1:
                raise ValueError("must be -1 (every column) or a list of column indexes")
        elif any(i < 0 for i in value):
            raise ValueError(f"column indexes must be ≥ 0, got {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.method != "standard_scale" and not (self.with_mean and self.with_std):
            raise ValueError(
                "with_mean / with_std apply to method 'standard_scale' only; "
                f"method is {self.method!r}"
            )
        if self.mode == "cap":
            for name in ("feat_upper", "feat_lower"):
                value = getattr(self, name)
                if isinstance(value, list):
                    raise ValueError(f"{name}: mode 'cap' takes one percentile, not a list")
                if value is not None and not 0 <= value <= 1:
                    raise ValueError(f"{name}: mode 'cap' takes a percentile in [0, 1]")
        upper, lower_ = self.feat_upper, self.feat_lower
        if upper is not None and lower_ is not None:
            ups = upper if isinstance(upper, list) else None
            lows = lower_ if isinstance(lower_, list) else None
            if ups is not None and lows is not None and len(ups) != len(lows):
                raise ValueError("feat_upper and feat_lower lists must have the same length")
            count = len(ups or lows or [0])
            for j in range(count):
                hi = ups[j] if ups is not None else upper
                lo = lows[j] if lows is not None else lower_
                assert not isinstance(hi, list) and not isinstance(lo, list)
                if hi < lo:
                    raise ValueError(f"feat_upper {hi} is below feat_lower {lo}")
        return self


def run_feature_scale(call: TaskCall) -> TaskResult:
    """FeatureScale at the guest or a host: fit (``data``) or transform (``model`` + ``data``)."""
    param = call.params
    assert isinstance(param, FeatureScaleParam)
    table, meta = load_data(call)
    out_meta = {"source": call.module}
    if not param.need_run:
        return pass_through(call, table, meta, "need_run is false")
    model = trained_model(call)
    if model is None:
        if param.method is None:
            return pass_through(call, table, meta, "method is None: nothing to scale")
        names = _scaled_names(param, table.header)
        method, state = param.method, _fit(param, table.header, names, table.features)
        model = new_model(
            call,
            {
                "method": method,
                "mode": param.mode,
                "scale_column": names,
                "feat_upper": param.feat_upper,
                "feat_lower": param.feat_lower,
                "with_mean": param.with_mean,
                "with_std": param.with_std,
                "need_run": param.need_run,
            },
            {
                "col_scale_param": {name: vars(s) for name, s in zip(names, state, strict=True)},
                "header": list(table.header),
            },
        )
    else:
        check_against_model(call, model)
        method, names, state = _trained_state(call, model)
    idx = positions(call.module, table.header, names, "scaled by the model")
    features = table.features.copy()
    try:
        features[:, idx] = apply_scale(table.features[:, idx], method, state)
    except ValueError as exc:
        raise ComponentError(f"{call.module}: the model cannot scale: {exc}") from None
    metrics: dict[str, Any] = {
        "mode": "fit" if "model" not in call.inputs else "transform",
        "method": method,
        "scaled_columns": len(names),
    }
    return finish(call, with_columns(table, table.header, features), out_meta, model, metrics)


def _scaled_names(param: FeatureScaleParam, header: list[str]) -> list[str]:
    """``scale_col_indexes`` and ``scale_names`` as column names, in header order."""
    if param.scale_col_indexes == -1:
        chosen = set(range(len(header)))
    else:
        assert isinstance(param.scale_col_indexes, list)
        beyond = [i for i in param.scale_col_indexes if i >= len(header)]
        if beyond:
            raise ComponentError(
                f"FeatureScale: scale_col_indexes {beyond} are beyond the table's "
                f"{len(header)} columns"
            )
        chosen = set(param.scale_col_indexes)
    chosen.update(positions("FeatureScale", header, param.scale_names or [], "scale_names"))
    return [header[j] for j in sorted(chosen)]


def _per_column(name: str, value: Bound, header: list[str], names: list[str]) -> list[Any]:
    """One bound per scaled column: the number, or the list's entry of that column."""
    if not isinstance(value, list):
        return [value] * len(names)
    if len(value) != len(header):
        raise ComponentError(
            f"FeatureScale: {name} lists {len(value)} values, but the table has "
            f"{len(header)} columns (a list has one entry per column, as in FATE)"
        )
    where = {column: j for j, column in enumerate(header)}
    return [value[where[column]] for column in names]


def _fit(
    param: FeatureScaleParam, header: list[str], names: list[str], features: Any
) -> list[ColumnScale]:
    idx = positions("FeatureScale", header, names, "to scale")
    x = np.asarray(features[:, idx], dtype=np.float64)
    upper = _per_column("feat_upper", param.feat_upper, header, names)
    lower_ = _per_column("feat_lower", param.feat_lower, header, names)
    empty = [names[j] for j in range(len(names)) if np.isnan(x[:, j]).all()]
    if empty:
        raise ComponentError(f"FeatureScale: column {empty[0]!r} has no value to scale by")
    low, high = bounds(x, param.mode, upper, lower_)
    if param.method == "min_max_scale":
        return fit_min_max(x, low, high)
    return fit_standard(x, low, high, param.with_mean, param.with_std)


def _trained_state(
    call: TaskCall, model: dict[str, Any]
) -> tuple[str, list[str], list[ColumnScale]]:
    method = model_part(call, model, "meta", "method")
    names = model_part(call, model, "meta", "scale_column")
    columns = model_part(call, model, "param", "col_scale_param")
    if method not in ("min_max_scale", "standard_scale") or not isinstance(names, list):
        raise ComponentError(f"{call.module}: the input model has no valid method / scale_column")
    try:
        state = [
            ColumnScale(
                float(columns[n]["column_upper"]),
                float(columns[n]["column_lower"]),
                float(columns[n]["mean"]),
                float(columns[n]["std"]),
            )
            for n in names
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ComponentError(
            f"{call.module}: invalid col_scale_param in the model ({exc})"
        ) from None
    return str(method), [str(n) for n in names], state


FEATURE_SCALE = ComponentDef(
    module="FeatureScale",
    roles=PARTIES,
    required_roles=("guest",),
    param_model=FeatureScaleParam,
    runners=same_runner(run_feature_scale, PARTIES),
    data_inputs={"data": (1, 1)},
    model_inputs={"model": (0, 1)},
    outputs=frozenset({"data", "model"}),
)
"""The FeatureScale module's declaration."""
