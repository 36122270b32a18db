"""HeteroFeatureBinning: each party's split points; WOE/IV of the guest's and hosts' columns.

**Fit** (input ``data`` only): each party bins its own columns (``bin_indexes`` /
``bin_names``, ``category_*``, ``split_points_by_*``; method quantile, bucket or optimal). The
guest computes event / non-event counts, WOE and IV of its columns from its labels (one result
per class, one-vs-rest, for more than two label values) and, unless ``local_only`` or
``skip_static``, of every host column from encrypted per-bin label sums
(:mod:`fedloom.ml.feature_binning`). **Transform** (inputs ``data`` and ``model``, e.g. in a
predict job): the model's split points (and the guest's WOE) are applied; nothing is exchanged.

The output data is the input with the ``transform_param`` columns replaced by their bin index
or WOE (``transform_type`` null: unchanged). The model, one party's part, keeps FATE's names:
``model_param.binning_result`` → column → ``split_points``, ``bin_nums`` and at the guest
``event_count_array``, ``non_event_count_array``, ``event_rate_array``,
``non_event_rate_array``, ``woe_array``, ``iv_array``, ``iv``, ``is_woe_monotonic``; the
guest's ``host_results`` list ``{party_id, binning_result}`` with columns named
``host_<party id>_<column index>`` (statistics only, no split points). A host's model has its
split points and no label information. Multi-class adds ``multi_class_result`` ``{labels,
results, host_results}``; the top-level results are the first class's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from fedloom.components.base import (
    PARTIES,
    ComponentDef,
    ComponentError,
    TaskCall,
    TaskResult,
    same_runner,
)
from fedloom.components.hetero_feature_binning_param import (
    HeteroFeatureBinningParam,
    TransformParam,
)
from fedloom.components.io import load_model, load_table_with_meta, save_model, save_table
from fedloom.data import Table
from fedloom.ml.feature_binning import (
    BinningGuest,
    BinningHost,
    ColumnBins,
    ColumnSpec,
    GuestBinning,
    assign,
)
from fedloom.ml.feature_binning.splits import check_points

__all__ = ["HETERO_FEATURE_BINNING", "HeteroFeatureBinningParam", "run_binning"]

MODULE = "HeteroFeatureBinning"


def run_binning(call: TaskCall) -> TaskResult:
    """HeteroFeatureBinning at the guest or a host."""
    param = call.params
    if not isinstance(param, HeteroFeatureBinningParam):
        raise ComponentError(f"{MODULE} got parameters of type {type(param).__name__}")
    data = call.input("data", "data", "the table to bin")
    table, _ = load_table_with_meta(data.path)
    if not param.need_run:
        out = save_table(call.output_dir / "data.npz", table, {"source": MODULE})
        return TaskResult(data={"data": out}, metrics={"need_run": False})
    if not table.header or not len(table):
        raise ComponentError(f"{MODULE} at the {call.role}: the table has no columns or no rows")
    model_in = call.inputs.get("model")
    if model_in is not None:
        document = _load(call, call.input("model", "model", "a binning model").path)
        transform = param.transform_param if "transform_param" in param.model_fields_set else None
        if transform is None:
            transform = TransformParam.model_validate(document["model_meta"]["transform_param"])
        out_table = _transform(call, table, document, transform)
        out = save_table(call.output_dir / "data.npz", out_table, {"source": MODULE})
        return TaskResult(data={"data": out}, metrics={"mode": "transform"})
    specs = _specs(param, table.header)
    config = param.to_ml()
    try:
        if call.role == "guest":
            keygen = call.hooks.keygen
            result = BinningGuest(config, keygen=keygen).fit(
                call.ctx, table.features, specs, table.labels
            )
            document = _guest_document(call, param, table.header, result)
        else:
            fitted = BinningHost(config).fit(call.ctx, table.features, specs).columns
            document = _document(call, param, specs, table.header, _own(fitted, None))
    except ValueError as exc:
        raise ComponentError(f"{MODULE} at the {call.role}: {exc}") from exc
    out_table = _transform(call, table, document, param.transform_param)
    out = save_table(call.output_dir / "data.npz", out_table, {"source": MODULE})
    model = save_model(call.output_dir / "model.json", document)
    metrics: dict[str, Any] = {"mode": "fit", "features": len(specs)}
    if call.role == "guest" and not param.skip_static:
        result_iv = document["model_param"]["binning_result"]
        metrics["iv"] = {name: r.get("iv") for name, r in result_iv.items()}
    return TaskResult(data={"data": out}, model=model, metrics=metrics)


def _pick(
    indexes: int | list[int] | None, names: list[str] | None, header: list[str], what: str
) -> set[int]:
    width = len(header)
    chosen: set[int] = set(range(width)) if indexes == -1 else set()
    for i in indexes if isinstance(indexes, list) else []:
        if i >= width:
            raise ComponentError(f"{MODULE}: {what} index {i} is outside the {width} columns")
        chosen.add(i)
    for name in names or []:
        if name not in header:
            raise ComponentError(f"{MODULE}: {what} names no column {name!r}")
        chosen.add(header.index(name))
    return chosen


def _specs(param: HeteroFeatureBinningParam, header: list[str]) -> list[ColumnSpec]:
    """The columns to bin, in table order, each with how it is binned."""
    bins = _pick(param.bin_indexes, param.bin_names, header, "bin_indexes / bin_names")
    cats = _pick(param.category_indexes, param.category_names, header, "category columns")
    given: dict[int, list[float]] = {}
    for key, points in (param.split_points_by_index or {}).items():
        index = int(key)
        if index >= len(header):
            raise ComponentError(f"{MODULE}: split_points_by_index names column {index}, absent")
        given[index] = [float(p) for p in points]
    for name, points in (param.split_points_by_col_name or {}).items():
        if name not in header:
            raise ComponentError(f"{MODULE}: split_points_by_col_name names no column {name!r}")
        given[header.index(name)] = [float(p) for p in points]
    specs = []
    for i in sorted(bins | cats | set(given)):
        if i in given:
            try:
                points = check_points(given[i], header[i])
            except ValueError as exc:
                raise ComponentError(f"{MODULE}: {exc}") from None
            specs.append(ColumnSpec(i, header[i], "given", tuple(points)))
        else:
            specs.append(ColumnSpec(i, header[i], "category" if i in cats else "numeric"))
    return specs


def _own(fitted: list[ColumnBins], stats: list[dict[str, Any]] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, col in enumerate(fitted):
        entry: dict[str, Any] = {"split_points": list(col.points), "bin_nums": col.size}
        if stats is not None:
            entry |= stats[k]
        out[col.spec.name] = entry
    return out


def _meta(param: HeteroFeatureBinningParam, specs: list[ColumnSpec]) -> dict[str, Any]:
    dump = param.model_dump(mode="json")
    dump["encrypt_param"] = {k: dump["encrypt_param"][k] for k in ("method", "key_length")}
    return {
        **dump,
        "cols": [s.name for s in specs],
        "category_cols": [s.name for s in specs if s.kind == "category"],
    }


def _document(
    call: TaskCall,
    param: HeteroFeatureBinningParam,
    specs: list[ColumnSpec],
    header: list[str],
    binning: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "module": MODULE,
        "role": call.role,
        "party_id": call.party_id,
        "model_meta": _meta(param, specs),
        "model_param": {"header": list(header), "binning_result": binning, **(extra or {})},
    }


def _guest_document(
    call: TaskCall, param: HeteroFeatureBinningParam, header: list[str], result: GuestBinning
) -> dict[str, Any]:
    classes = result.classes
    per_class = [
        _own(result.columns, [s[k] for s in result.stats] if classes else None)
        for k in range(max(len(classes), 1))
    ]
    hosts = [
        [
            {
                "party_id": party,
                "binning_result": {f"host_{party}_{c.index}": c.stats[k] for c in columns},
            }
            for party, columns in result.hosts
        ]
        for k in range(max(len(classes), 1))
    ]
    extra: dict[str, Any] = {"host_results": hosts[0]}
    if len(classes) > 1:
        extra["multi_class_result"] = {
            "labels": [_label(c) for c in classes],
            "results": [{"binning_result": r} for r in per_class],
            "host_results": hosts,
        }
    specs = [c.spec for c in result.columns]
    return _document(call, param, specs, header, per_class[0], extra)


def _label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _load(call: TaskCall, path: Any) -> dict[str, Any]:
    document = load_model(path)
    if document.get("module") != MODULE or document.get("role") != call.role:
        raise ComponentError(
            f"{MODULE} model input is a {document.get('module')!r} model of the "
            f"{document.get('role')!r}, not this {call.role}'s binning model"
        )
    try:
        param = document["model_param"]
        TransformParam.model_validate(document["model_meta"]["transform_param"])
        for name, entry in param["binning_result"].items():
            check_points(entry["split_points"], str(name))
    except (KeyError, TypeError, ValueError) as exc:
        raise ComponentError(f"{MODULE}: the input model is invalid ({exc})") from None
    return document


def _transform(
    call: TaskCall, table: Table, document: dict[str, Any], transform: TransformParam
) -> Table:
    """``table`` with the chosen binned columns replaced by bin index or WOE."""
    kind = transform.transform_type
    if kind is None:
        return table
    meta, result = document["model_meta"], document["model_param"]["binning_result"]
    if kind == "woe":
        if call.role != "guest":
            raise ComponentError(
                f"{MODULE}: a woe transform replaces the guest's columns only (as in FATE); "
                "set transform_type to 'bin_num' or null at the hosts"
            )
        if meta.get("skip_static") or "multi_class_result" in document["model_param"]:
            raise ComponentError(
                f"{MODULE}: a woe transform needs binary labels' WOE (not skip_static)"
            )
    trained = list(result)
    model_header = document["model_param"]["header"]
    names: list[str] = list(trained) if transform.transform_cols == -1 else []
    for i in transform.transform_cols if isinstance(transform.transform_cols, list) else []:
        if i >= len(model_header) or model_header[i] not in result:
            raise ComponentError(f"{MODULE}: transform_cols index {i} is not a binned column")
        names.append(model_header[i])
    for name in transform.transform_names or []:
        if name not in result:
            raise ComponentError(f"{MODULE}: transform_names names no binned column {name!r}")
        names.append(name)
    features = table.features.copy()
    categories = set(meta.get("category_cols") or [])
    for name in dict.fromkeys(names):
        if name not in table.header:
            raise ComponentError(f"{MODULE}: the table lacks the binned column {name!r}")
        j = table.header.index(name)
        column = features[:, j]
        if not np.all(np.isfinite(column)):
            raise ComponentError(f"{MODULE}: column {name!r} has missing values to transform")
        entry = result[name]
        spec = ColumnSpec(j, name, "category" if name in categories else "numeric")
        try:
            bins = assign(column, spec, list(entry["split_points"]))
        except ValueError as exc:
            raise ComponentError(f"{MODULE}: {exc}") from None
        if kind == "woe":
            features[:, j] = np.asarray(entry["woe_array"], dtype=np.float64)[bins]
        else:
            features[:, j] = bins.astype(np.float64)
    return replace(table, features=features)


HETERO_FEATURE_BINNING = ComponentDef(
    module=MODULE,
    roles=PARTIES,
    required_roles=("guest",),
    param_model=HeteroFeatureBinningParam,
    runners=same_runner(run_binning, PARTIES),
    data_inputs={"data": (0, 1)},
    model_inputs={"model": (0, 1)},
    outputs=frozenset({"data", "model"}),
    # Each party bins its own columns: bin_num may differ per role (FATE's asymmetric example);
    # hosts report each column's bin count with its sums.
    consistent_params=(
        "method",
        "local_only",
        "skip_static",
        "need_run",
        "encrypt_param.method",
        "encrypt_param.key_length",
    ),
)
"""The HeteroFeatureBinning module's declaration."""
