"""The filters of HeteroFeatureSelection over one party's table (see
:mod:`fedloom.components.hetero_feature_selection` for what each party learns)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fedloom.components.base import ComponentError, TaskCall
from fedloom.components.data_statistics import STATISTIC_ALIASES, selected_columns
from fedloom.components.hetero_feature_selection_inputs import Isometric, merged_iv
from fedloom.components.hetero_feature_selection_param import FeatureSelectionParam, Rule
from fedloom.data import Table
from fedloom.federation import Context
from fedloom.ml.feature_selection import (
    by_rule,
    correlation_filter,
    federated_choice,
    gather_left,
    percentage_value,
    send_keep,
    unique_value,
)
from fedloom.ml.statistics import column_statistics

IV_FILTERS = ("iv_filter", "iv_value_thres", "iv_percentile", "iv_top_k")
"""The IV filters (FATE's current name and the older ones)."""
Result = dict[str, Any]
"""One filter's entry of ``model_param.results``."""


class SelectionRun:
    """One selection task's state: the columns left and the results so far; one method per
    filter, each returning its ``results`` entry."""

    def __init__(self, call: TaskCall, table: Table, iso: Isometric, left: list[str]) -> None:
        self.call, self.table, self.iso = call, table, iso
        self.param: FeatureSelectionParam = call.params  # type: ignore[assignment]
        self.left = left
        self.position = {name: k for k, name in enumerate(table.header)}
        self.host_names: dict[int, set[int]] = {}

    def column(self, names: list[str]) -> np.ndarray[Any, Any]:
        """The values of the named columns."""
        return self.table.features[:, [self.position[n] for n in names]]

    def record(self, name: str, values: dict[str, float], kept: list[str]) -> Result:
        """Keep ``kept`` of the columns left; the filter's ``results`` entry."""
        before, keep = list(self.left), set(kept)
        self.left = [n for n in before if n in keep]
        return {
            "filter_name": name,
            "feature_values": values,
            "left_cols": {"original_cols": before, "left_cols": {n: n in keep for n in before}},
        }

    # -- local filters ---------------------------------------------------------------------
    def unique_value(self) -> Result:
        """``unique_value``: drop columns spanning less than ``eps``."""
        keep, spans = unique_value(self.column(self.left), float(self.param.unique_param.eps))
        kept = [n for n, k in zip(self.left, keep.tolist(), strict=True) if k]
        return self.record("unique_value", dict(zip(self.left, spans.tolist(), strict=True)), kept)

    def percentage_value(self) -> Result:
        """``percentage_value``: drop columns dominated by one value."""
        pct = float(self.param.percentage_value_param.upper_pct)
        keep, shares = percentage_value(self.column(self.left), pct)
        kept = [n for n, k in zip(self.left, keep.tolist(), strict=True) if k]
        values = dict(zip(self.left, shares.tolist(), strict=True))
        return self.record("percentage_value", values, kept)

    def manually(self) -> Result:
        """``manually``: drop the listed columns, or keep only the listed ones."""
        p = self.param.manually_param
        header = self.table.header
        out_given = p.filter_out_indexes is not None or p.filter_out_names is not None
        left_given = p.left_col_indexes is not None or p.left_col_names is not None
        if out_given == left_given:
            raise ComponentError(
                "manually_param: set filter_out_indexes / filter_out_names or left_col_indexes "
                "/ left_col_names (one kind, not both)"
            )
        named = (
            selected_columns(header, p.filter_out_indexes, p.filter_out_names, "manually_param")
            if out_given
            else selected_columns(header, p.left_col_indexes, p.left_col_names, "manually_param")
        )
        chosen = {header[k] for k in named}
        kept = [n for n in self.left if (n in chosen) != out_given]
        return self.record("manually", {}, kept)

    def _by_rules(
        self, name: str, rules: list[Rule], lookup: dict[str, dict[str, float]]
    ) -> Result:
        values: dict[str, float] = {}
        kept = list(self.left)
        for rule in rules:
            if any(t is not None for t in rule.host_thresholds):
                raise ComponentError(
                    f"{name} is local to each party: set a host's threshold in that host's "
                    "own parameters, not in host_thresholds"
                )
            table = lookup.get(rule.metric)
            if table is None:
                raise ComponentError(f"{name}: the model has no {rule.metric!r} values")
            missing = [n for n in kept if n not in table]
            if missing:
                raise ComponentError(f"{name}: the model has no {rule.metric!r} of {missing[0]!r}")
            current = {n: table[n] for n in kept}
            values.update(current)
            kept = by_rule(current, rule.filter_type, rule.threshold, rule.take_high)
        return self.record(name, values, kept)

    def statistic_filter(self) -> Result:
        """``statistic_filter``: by this party's DataStatistics model."""
        if self.iso.statistics is None:
            raise ComponentError("statistic_filter needs a DataStatistics isometric_model")
        lookup = dict(self.iso.statistics)
        for alias, name in STATISTIC_ALIASES.items():
            if name in lookup:
                lookup.setdefault(alias, lookup[name])
        return self._by_rules("statistic_filter", self.param.statistic_param.rules(), lookup)

    def vif_filter(self) -> Result:
        """``vif_filter``: by this party's HeteroPearson ``local_vif``."""
        if self.iso.local_vif is None:
            raise ComponentError(
                "vif_filter needs a HeteroPearson isometric_model with calc_local_vif true"
            )
        return self._by_rules(
            "vif_filter", self.param.vif_param.rules(), {"vif": self.iso.local_vif}
        )

    def psi_filter(self) -> Result:
        """``psi_filter``: by this party's PSI model (column stability between two tables)."""
        if self.iso.psi is None:
            raise ComponentError("psi_filter needs a PSI isometric_model")
        return self._by_rules("psi_filter", self.param.psi_param.rules(), {"psi": self.iso.psi})

    def coefficient_of_variation_value_thres(self) -> Result:
        """Keep columns whose std / mean reaches ``value_threshold``."""
        stats = column_statistics(self.column(self.left), ["coefficient_of_variance"])
        rule = Rule("cv", "threshold", float(self.param.variance_coe_param.value_threshold), True)
        values = dict(zip(self.left, stats["coefficient_of_variance"].tolist(), strict=True))
        return self._by_rules("coefficient_of_variation_value_thres", [rule], {"cv": values})

    def outlier_cols(self) -> Result:
        """Drop columns whose ``percentile`` value exceeds ``upper_threshold``."""
        p = self.param.outlier_param
        name = f"{float(p.percentile) * 100:g}%"
        stats = column_statistics(self.column(self.left), [name])
        rule = Rule(name, "threshold", float(p.upper_threshold), False)
        values = dict(zip(self.left, stats[name].tolist(), strict=True))
        return self._by_rules("outlier_cols", [rule], {name: values})

    # -- federated filters -----------------------------------------------------------------
    def _iv_setup(self, method: str) -> tuple[list[Rule], bool, str | list[str]]:
        p = self.param
        if method == "iv_filter":
            return p.iv_param.rules(), p.iv_param.select_federated, p.iv_param.mul_class_merge_type
        if method == "iv_value_thres":
            v = p.iv_value_param
            hosts = tuple(None if t is None else float(t) for t in v.host_thresholds or [])
            rule = Rule("iv", "threshold", float(v.value_threshold), True, hosts)
            return [rule], not v.local_only, "average"
        if method == "iv_percentile":
            q = p.iv_percentile_param
            return (
                [Rule("iv", "top_percentile", float(q.percentile_threshold), True)],
                (not q.local_only),
                "average",
            )
        t = p.iv_top_k_param
        return [Rule("iv", "top_k", float(t.k), True)], not t.local_only, "average"

    def _host_positions(self) -> list[int]:
        return [self.position[n] for n in self.left]

    def _host_side(self, ctx: Context, name: str, federated: bool) -> Result:
        if not federated:
            return self.record(name, {}, list(self.left))
        kept = set(federated_choice(ctx, self._host_positions()))
        return self.record(name, {}, [n for n in self.left if self.position[n] in kept])

    def _guest_iv(self, name: str, merge: str) -> float:
        assert self.iso.iv is not None
        if name not in self.iso.iv:
            raise ComponentError(f"the binning model has no iv of {name!r}")
        return merged_iv(self.iso.iv[name], merge)

    def _host_iv(self, party: int, position: int, merge: str) -> float:
        table = (self.iso.host_iv or {}).get(party)
        if table is None or position not in table:
            raise ComponentError(
                f"the binning model has no iv of a column in play at host {party}: bin every "
                "host column (local_only false) or set select_federated false"
            )
        self.host_names.setdefault(party, set()).add(position)
        return merged_iv(table[position], merge)

    def _with_hosts(
        self, result: Result, left: list[list[int]], keep: list[list[int]], values: dict[str, float]
    ) -> Result:
        parties = [p.party_id for p in self.call.ctx.parties.hosts]
        result["host_feature_values"] = [
            {
                "party_id": pid,
                "feature_values": {n: v for n, v in values.items() if n.startswith(f"host_{pid}_")},
            }
            for pid in parties
        ]
        result["host_left_cols"] = [
            {
                "party_id": pid,
                "original_cols": [f"host_{pid}_{k}" for k in had],
                "left_cols": {f"host_{pid}_{k}": k in set(kept) for k in had},
            }
            for pid, had, kept in zip(parties, left, keep, strict=True)
        ]
        return result

    def iv_filter(self, method: str, ctx: Context) -> Result:
        """An IV filter; the guest decides for the hosts' columns when federated."""
        rules, federated, merges = self._iv_setup(method)
        if self.call.role == "host":
            return self._host_side(ctx, method, federated)
        if self.iso.iv is None:
            raise ComponentError(f"{method} needs a HeteroFeatureBinning isometric_model")
        merge_of = [merges] * len(rules) if isinstance(merges, str) else list(merges)
        if len(merge_of) == 1:
            merge_of *= len(rules)
        if len(merge_of) != len(rules):
            raise ComponentError("iv_param: one mul_class_merge_type per metric (or one for all)")
        parties = [p.party_id for p in ctx.parties.hosts] if federated else []
        left = gather_left(ctx) if federated else []
        host_of: dict[str, tuple[int, int]] = {}
        for k, (pid, positions) in enumerate(zip(parties, left, strict=True)):
            for pos in positions:
                host_of[f"host_{pid}_{pos}"] = (k, pos)

        def ivs(names: list[str], merge: str) -> dict[str, float]:
            return {
                n: self._host_iv(parties[host_of[n][0]], host_of[n][1], merge)
                if n in host_of
                else self._guest_iv(n, merge)
                for n in names
            }

        values = ivs([*self.left, *host_of], merge_of[0])
        remaining = list(values)
        for rule, merge in zip(rules, merge_of, strict=True):
            current = ivs(remaining, merge)
            limits = {
                n: rule.host_thresholds[k]
                for n, (k, _) in host_of.items()
                if k < len(rule.host_thresholds) and rule.host_thresholds[k] is not None
            }
            remaining = by_rule(current, rule.filter_type, rule.threshold, rule.take_high, limits)  # type: ignore[arg-type]
        current = dict.fromkeys(remaining, 0.0)
        keep = [
            [pos for n, (k2, pos) in host_of.items() if k2 == k and n in current]
            for k in range(len(left))
        ]
        if federated:
            send_keep(ctx, left, keep)
        result = self.record(
            method, {n: values[n] for n in self.left}, [n for n in self.left if n in current]
        )
        return self._with_hosts(result, left, keep, values) if federated else result

    def correlation(self, ctx: Context) -> Result:
        """``correlation_filter``: decorrelate in descending IV order."""
        federated = self.param.correlation_param.select_federated
        if self.call.role == "host":
            return self._host_side(ctx, "correlation_filter", federated)
        iso = self.iso
        if iso.iv is None or iso.local_corr is None:
            raise ComponentError(
                "correlation_filter needs a HeteroFeatureBinning and a HeteroPearson "
                "isometric_model"
            )
        local = {n: i for i, n in enumerate(iso.local_names)}
        remote = {n: j for j, n in enumerate(iso.remote_names)}
        values = {n: self._guest_iv(n, "average") for n in self.left}
        parties = [p.party_id for p in ctx.parties.hosts] if federated else []
        left = gather_left(ctx) if federated else []
        in_play: dict[str, tuple[int, int]] = {}
        for k, (pid, positions) in enumerate(zip(parties, left, strict=True)):
            for pos in positions:
                name = f"host_{pid}_{pos}"
                if name in remote:
                    values[name] = self._host_iv(pid, pos, "average")
                    in_play[name] = (k, pos)
        order = sorted(values, key=lambda n: (np.isnan(values[n]), -values[n]))

        def corr(a: str, b: str) -> float | None:
            assert iso.local_corr is not None
            if a in local and b in local:
                return float(iso.local_corr[local[a], local[b]])
            if iso.corr is None:
                return None
            if a in local and b in remote:
                return float(iso.corr[local[a], remote[b]])
            if b in local and a in remote:
                return float(iso.corr[local[b], remote[a]])
            return None

        threshold = float(self.param.correlation_param.threshold)
        kept = set(correlation_filter(order, corr, threshold, set(values)))
        keep = [
            [
                p
                for p in positions
                if in_play.get(f"host_{pid}_{p}") is None or f"host_{pid}_{p}" in kept
            ]
            for pid, positions in zip(parties, left, strict=True)
        ]
        if federated:
            send_keep(ctx, left, keep)
        result = self.record(
            "correlation_filter",
            {n: values[n] for n in self.left},
            [n for n in self.left if n in kept],
        )
        return self._with_hosts(result, left, keep, values) if federated else result
