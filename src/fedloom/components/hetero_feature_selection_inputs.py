"""The isometric models HeteroFeatureSelection reads, validated into plain lookups.

- a HeteroFeatureBinning model (``model_param.binning_result`` → feature → ``iv``; at the guest
  also ``host_results``: ``[{party_id, binning_result: {"host_<party id>_<position>": ...}}]``);
- a DataStatistics model (``model_param.self_values``: ``header`` and ``results``);
- a HeteroPearson model (``model_param``: ``names``, ``shapes``, ``corr``, ``local_corr``,
  ``local_vif``);
- a PSI model (``model_param.total_score``: column → PSI).

Each is recognised by its ``module`` field, or else by its ``model_param`` keys (FATE's order
of ``isometric_model`` inputs does not matter here). These files are this party's own, so
errors may name its columns.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fedloom.components.base import ComponentError, TaskCall
from fedloom.components.io import load_model

_HOST_NAME = re.compile(r"host_(\d+)_(\d+)")


@dataclass
class Isometric:
    """What the isometric models of a task say, by kind."""

    iv: dict[str, float | list[float]] | None = None
    host_iv: dict[int, dict[int, float | list[float]]] | None = None
    statistics: dict[str, dict[str, float]] | None = None
    """metric → column → value."""
    local_names: list[str] = field(default_factory=list)
    remote_names: list[str] = field(default_factory=list)
    local_corr: np.ndarray[Any, Any] | None = None
    corr: np.ndarray[Any, Any] | None = None
    local_vif: dict[str, float] | None = None
    psi: dict[str, float] | None = None
    """column → PSI (a PSI model's ``total_score``)."""


def _kind(model: dict[str, Any]) -> str:
    module = model.get("module")
    param = model.get("model_param")
    if not isinstance(param, dict):
        raise ComponentError("an isometric model has no model_param")
    if module == "HeteroFeatureBinning" or "binning_result" in param:
        return "binning"
    if module == "DataStatistics" or "self_values" in param:
        return "statistics"
    if module == "HeteroPearson" or "local_corr" in param:
        return "pearson"
    if module == "PSI" or "total_score" in param:
        return "psi"
    raise ComponentError(
        "HeteroFeatureSelection reads HeteroFeatureBinning, DataStatistics, HeteroPearson and "
        f"PSI models; got {module or 'an unknown model'}"
    )


def _number(value: object, what: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ComponentError(f"{what} is not a number")
    return float(value)


def _iv(result: object, what: str) -> dict[str, float | list[float]]:
    if not isinstance(result, dict):
        raise ComponentError(f"{what} is not a feature → result mapping")
    out: dict[str, float | list[float]] = {}
    for name, entry in result.items():
        if not isinstance(entry, dict) or "iv" not in entry:
            raise ComponentError(f"{what}: feature {name!r} has no iv")
        iv = entry["iv"]
        if isinstance(iv, list):
            out[name] = [_number(v, f"{what}: iv of {name!r}") for v in iv]
        else:
            out[name] = _number(iv, f"{what}: iv of {name!r}")
    return out


def _host_ivs(entries: object) -> dict[int, dict[int, float | list[float]]]:
    hosts: dict[int, dict[int, float | list[float]]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("party_id"), int):
            raise ComponentError("the binning model's host_results entries need a party_id")
        party = int(entry["party_id"])
        values = _iv(entry.get("binning_result"), f"the binning result of host {party}")
        by_position: dict[int, float | list[float]] = {}
        for name, iv in values.items():
            match = _HOST_NAME.fullmatch(name)
            if match is None or int(match.group(1)) != party:
                raise ComponentError(
                    f"host feature {name!r} is not named host_{party}_<column position>"
                )
            by_position[int(match.group(2))] = iv
        hosts[party] = by_position
    return hosts


def _per_class(tables: list[dict[Any, float | list[float]]]) -> dict[Any, float | list[float]]:
    """One list of IVs per feature from one table per class (multi-class binning)."""
    out: dict[Any, float | list[float]] = {}
    for name in tables[0]:
        values = [t.get(name, math.nan) for t in tables]
        out[name] = [float(v) if not isinstance(v, list) else math.nan for v in values]
    return out


def _binning(param: dict[str, Any], into: Isometric) -> None:
    """The guest's binning model: IVs of its features and of the hosts' (one per class for a
    multi-class binning, merged later by ``mul_class_merge_type``)."""
    multi = param.get("multi_class_result")
    if isinstance(multi, dict) and isinstance(multi.get("results"), list):
        own = [
            _iv(r.get("binning_result") if isinstance(r, dict) else None, "a class's binning")
            for r in multi["results"]
        ]
        into.iv = _per_class(own) if own else {}
        per_class_hosts = [_host_ivs(h) for h in multi.get("host_results") or []]
        into.host_iv = {
            party: _per_class([h.get(party, {}) for h in per_class_hosts])
            for party in (per_class_hosts[0] if per_class_hosts else {})
        }
        return
    into.iv = _iv(param.get("binning_result"), "the binning model's binning_result")
    into.host_iv = _host_ivs(param.get("host_results"))


def _statistics(param: dict[str, Any], into: Isometric) -> None:
    values = param.get("self_values")
    if not isinstance(values, dict) or not isinstance(values.get("header"), list):
        raise ComponentError("the DataStatistics model has no self_values.header")
    header = [str(h) for h in values["header"]]
    table: dict[str, dict[str, float]] = {}
    for row in values.get("results") or []:
        if not isinstance(row, dict) or not isinstance(row.get("values"), list):
            raise ComponentError("the DataStatistics model's results are malformed")
        if len(row["values"]) != len(header):
            raise ComponentError("the DataStatistics model's results do not match its header")
        name = str(row.get("value_name"))
        what = f"statistic {name!r}"
        table[name] = {h: _number(v, what) for h, v in zip(header, row["values"], strict=True)}
    into.statistics = table


def _pearson(param: dict[str, Any], into: Isometric) -> None:
    names = param.get("names")
    if not isinstance(names, list) or not names or not isinstance(names[0], dict):
        raise ComponentError("the HeteroPearson model has no names")
    into.local_names = [str(n) for n in names[0].get("names", [])]
    m = len(into.local_names)
    local = np.array([_number(v, "local_corr") for v in param.get("local_corr", [])])
    if local.size != m * m:
        raise ComponentError("the HeteroPearson model's local_corr does not match its names")
    into.local_corr = local.reshape(m, m)
    if len(names) > 1 and isinstance(names[1], dict):
        into.remote_names = [str(n) for n in names[1].get("names", [])]
        corr = np.array([_number(v, "corr") for v in param.get("corr", [])])
        if corr.size != m * len(into.remote_names):
            raise ComponentError("the HeteroPearson model's corr does not match its names")
        into.corr = corr.reshape(m, len(into.remote_names))
    if "local_vif" in param:
        vif = [_number(v, "local_vif") for v in param["local_vif"]]
        if len(vif) != m:
            raise ComponentError("the HeteroPearson model's local_vif does not match its names")
        into.local_vif = dict(zip(into.local_names, vif, strict=True))


def _psi(param: dict[str, Any], into: Isometric) -> None:
    total = param.get("total_score")
    if not isinstance(total, dict):
        raise ComponentError("the PSI model has no total_score")
    into.psi = {str(k): _number(v, f"the PSI of {k!r}") for k, v in total.items()}


def load_isometric(call: TaskCall) -> Isometric:
    """The task's ``isometric_model`` inputs (any order), one of each kind at most. A host's
    binning model has no IVs (the guest judges host features), so a host only checks it is
    one."""
    out = Isometric()
    seen: set[str] = set()
    keys = sorted(k for k in call.inputs if k == "isometric_model" or k.startswith("isometric_"))
    for key in keys:
        model = load_model(call.input(key, "model", "an isometric model").path)
        kind = _kind(model)
        if kind in seen:
            raise ComponentError(f"HeteroFeatureSelection got two {kind} isometric models")
        seen.add(kind)
        if kind == "binning" and call.role != "guest":
            continue
        {"binning": _binning, "statistics": _statistics, "pearson": _pearson, "psi": _psi}[kind](
            model["model_param"], out
        )
    return out


def merged_iv(value: float | list[float], how: str) -> float:
    """One IV of a feature: its IV, or the per-class IVs merged (average / min / max)."""
    if not isinstance(value, list):
        return value
    if not value:
        return math.nan
    if how == "min":
        return min(value)
    if how == "max":
        return max(value)
    return sum(value) / len(value)
