"""HeteroFeatureSelection: each filter, host features by a hand-built binning model, replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_statistics import GUEST, HOST, PARTIES, run_module

from fedloom.components import (
    ComponentError,
    InputArtifact,
    TaskHooks,
    TaskResult,
    load_model,
    load_table,
    save_table,
)
from fedloom.crypto import generate_plain_keypair
from fedloom.data import Table
from fedloom.federation import Party, PartyFailed

pytestmark = pytest.mark.integration
Inputs = dict[Party, dict[str, InputArtifact]]
GUEST_COLS = ["g0", "g1", "g2", "g3", "g4"]
HOST_COLS = ["h0", "h1", "h2", "h3"]


def tables(tmp_path: Path, rows: int = 60, seed: int = 2) -> tuple[Path, Path]:
    """Guest: g0 constant, g1 mostly one value, g2..g4 normal (g4 ≈ g2); host: h0..h3."""
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(rows, 5))
    g[:, 0] = 1.0
    g[:, 1] = np.where(np.arange(rows) < rows - 3, 0.0, 1.0)
    g[:, 4] = g[:, 2] + 0.01 * rng.normal(size=rows)
    h = rng.normal(size=(rows, 4))
    h[:, 3] = g[:, 3] * 2 + 0.01 * rng.normal(size=rows)
    ids = [f"i{k}" for k in range(rows)]
    y = (rng.random(rows) > 0.5).astype(float)
    gp = save_table(tmp_path / f"g{seed}.npz", Table(ids, GUEST_COLS, g, y))
    hp = save_table(tmp_path / f"h{seed}.npz", Table(ids, HOST_COLS, h))
    return gp, hp


def data_inputs(g: Path, h: Path) -> Inputs:
    """Data inputs of both parties."""
    return {GUEST: {"data": InputArtifact("data", g)}, HOST: {"data": InputArtifact("data", h)}}


def binning_models(tmp_path: Path) -> tuple[Path, Path]:
    """A guest binning model with IVs of its features and of host 10000's, and the host's."""

    def entry(iv: float) -> dict[str, Any]:
        return {"iv": iv, "split_points": [0.0], "bin_nums": 2, "woe_array": [0.1, -0.1]}

    guest_iv = {"g0": 0.0, "g1": 0.05, "g2": 0.5, "g3": 0.3, "g4": 0.4}
    host_iv = {
        "host_10000_0": 0.02,
        "host_10000_1": 0.6,
        "host_10000_2": 0.25,
        "host_10000_3": 0.35,
    }
    guest = {
        "module": "HeteroFeatureBinning",
        "model_param": {
            "header": GUEST_COLS,
            "binning_result": {k: entry(v) for k, v in guest_iv.items()},
            "host_results": [
                {"party_id": 10000, "binning_result": {k: {"iv": v} for k, v in host_iv.items()}}
            ],
        },
    }
    host = {
        "module": "HeteroFeatureBinning",
        "model_param": {
            "header": HOST_COLS,
            "binning_result": {c: {"split_points": [0.0], "bin_nums": 2} for c in HOST_COLS},
        },
    }
    (tmp_path / "gb.json").write_text(json.dumps(guest))
    (tmp_path / "hb.json").write_text(json.dumps(host))
    return tmp_path / "gb.json", tmp_path / "hb.json"


def select(
    params: dict[str, Any],
    inputs: Inputs,
    out: Path,
    party_params: dict[Party, dict[str, Any]] | None = None,
) -> dict[Party, TaskResult]:
    """Run HeteroFeatureSelection at both parties."""
    return run_module("HeteroFeatureSelection", params, inputs, out, PARTIES, None, party_params)


def header(result: TaskResult) -> list[str]:
    """The output table's columns."""
    return load_table(result.data["data"]).header


def test_local_filters_in_order(tmp_path: Path) -> None:
    g, h = tables(tmp_path)
    params = {
        "filter_methods": ["unique_value", "percentage_value", "manually"],
        "percentage_value_param": {"upper_pct": 0.9},
    }
    own = {
        GUEST: {**params, "manually_param": {"filter_out_names": ["g3"]}},
        HOST: {**params, "manually_param": {"left_col_indexes": [0, 2]}},
    }
    results = select(params, data_inputs(g, h), tmp_path / "o", own)
    assert header(results[GUEST]) == ["g2", "g4"]
    assert header(results[HOST]) == ["h0", "h2"]
    model = load_model(results[GUEST].model)["model_param"]
    names = [r["filter_name"] for r in model["results"]]
    assert names == ["unique_value", "percentage_value", "manually"]
    assert model["results"][0]["left_cols"]["left_cols"]["g0"] is False
    assert model["results"][1]["feature_values"]["g1"] == pytest.approx(57 / 60)
    assert model["final_left_cols"]["left_cols"] == {
        "g0": False,
        "g1": False,
        "g2": True,
        "g3": False,
        "g4": True,
    }
    table = load_table(results[GUEST].data["data"])
    assert table.labels is not None and len(table.ids) == 60


def test_iv_filter_decides_for_host_features(tmp_path: Path) -> None:
    g, h = tables(tmp_path)
    gb, hb = binning_models(tmp_path)
    inputs = data_inputs(g, h)
    inputs[GUEST]["isometric_model"] = InputArtifact("model", gb)
    inputs[HOST]["isometric_model"] = InputArtifact("model", hb)
    params = {
        "filter_methods": ["iv_filter"],
        "iv_param": {
            "metrics": ["iv"],
            "filter_type": "threshold",
            "threshold": 0.28,
            "host_thresholds": [0.3],
        },
    }
    results = select(params, inputs, tmp_path / "o")
    assert header(results[GUEST]) == ["g2", "g3", "g4"]
    assert header(results[HOST]) == ["h1", "h3"]  # iv 0.6 and 0.35 ≥ the host threshold 0.3
    guest = load_model(results[GUEST].model)["model_param"]
    host_left = guest["results"][0]["host_left_cols"][0]
    assert host_left["party_id"] == 10000
    assert host_left["left_cols"] == {
        "host_10000_0": False,
        "host_10000_1": True,
        "host_10000_2": False,
        "host_10000_3": True,
    }
    assert guest["host_col_names"][0]["col_names"][1] == "host_10000_1"
    host = load_model(results[HOST].model)["model_param"]
    assert host["results"][0]["feature_values"] == {}  # the host learns only its choice
    assert "host_left_cols" not in host["results"][0]


def test_iv_top_k_joint_ranking_and_local_only(tmp_path: Path) -> None:
    g, h = tables(tmp_path)
    gb, hb = binning_models(tmp_path)
    inputs = data_inputs(g, h)
    inputs[GUEST]["isometric_model"] = InputArtifact("model", gb)
    inputs[HOST]["isometric_model"] = InputArtifact("model", hb)
    results = select(
        {"filter_methods": ["iv_top_k"], "iv_top_k_param": {"k": 3}}, inputs, tmp_path / "a"
    )
    assert header(results[GUEST]) == ["g2", "g4"]  # top 3 of all: h1 0.6, g2 0.5, g4 0.4
    assert header(results[HOST]) == ["h1"]
    params = {
        "filter_methods": ["iv_percentile"],
        "iv_percentile_param": {"percentile_threshold": 0.4, "local_only": True},
    }
    results = select(params, inputs, tmp_path / "b")
    assert header(results[GUEST]) == ["g2", "g4"]  # ceil(0.4 · 5) = 2 guest features
    assert header(results[HOST]) == HOST_COLS


def test_statistic_filter_with_a_statistics_model(tmp_path: Path) -> None:
    g, h = tables(tmp_path)
    stats = run_module(
        "DataStatistics", {"statistics": ["stddev", "mean"]}, data_inputs(g, h), tmp_path / "s"
    )
    inputs = data_inputs(g, h)
    for party in (GUEST, HOST):
        inputs[party]["isometric_model"] = InputArtifact("model", stats[party].model)
    params = {
        "filter_methods": ["statistic_filter"],
        "statistic_param": {"metrics": ["stddev"], "filter_type": "top_k", "threshold": 2},
    }
    results = select(params, inputs, tmp_path / "o")
    gx = load_table(g).features
    best = np.argsort(-gx.std(axis=0), kind="stable")[:2]
    assert header(results[GUEST]) == [GUEST_COLS[k] for k in sorted(best)]
    assert len(header(results[HOST])) == 2


def test_correlation_and_vif_filters(tmp_path: Path) -> None:
    g, h = tables(tmp_path)
    gb, _ = binning_models(tmp_path)
    pearson_params = {"column_names": ["g2", "g3", "g4"], "calc_local_vif": True}
    own = {GUEST: pearson_params, HOST: {"column_indexes": -1}}
    hooks = TaskHooks(keygen=generate_plain_keypair)
    pearson = run_module(
        "HeteroPearson", {}, data_inputs(g, h), tmp_path / "p", PARTIES, hooks, own
    )
    inputs = data_inputs(g, h)
    inputs[GUEST]["isometric_model"] = InputArtifact("model", gb)
    inputs[GUEST]["isometric_model_1"] = InputArtifact("model", pearson[GUEST].model)
    inputs[HOST]["isometric_model"] = InputArtifact("model", pearson[HOST].model)
    params = {"filter_methods": ["correlation_filter"], "correlation_param": {"threshold": 0.9}}
    results = select(params, inputs, tmp_path / "c")
    # g4 ≈ g2 (iv 0.4 < 0.5): dropped; h3 ≈ 2·g3 (iv 0.35 > 0.3): g3 dropped
    assert header(results[GUEST]) == ["g0", "g1", "g2"]
    assert header(results[HOST]) == HOST_COLS
    vif = {"filter_methods": ["vif_filter"], "vif_param": {"threshold": 50}}
    inputs[GUEST] = {
        **data_inputs(g, h)[GUEST],
        "isometric_model": InputArtifact("model", pearson[GUEST].model),
    }
    results = select(
        vif,
        inputs,
        tmp_path / "v",
        {GUEST: {**vif, "select_col_indexes": [], "select_names": ["g2", "g3", "g4"]}, HOST: vif},
    )
    assert header(results[GUEST]) == ["g0", "g1", "g3"]  # g2 / g4 inflate each other
    assert header(results[HOST]) == HOST_COLS


def test_predict_replays_the_selection(tmp_path: Path) -> None:
    g, h = tables(tmp_path)
    gb, hb = binning_models(tmp_path)
    inputs = data_inputs(g, h)
    inputs[GUEST]["isometric_model"] = InputArtifact("model", gb)
    inputs[HOST]["isometric_model"] = InputArtifact("model", hb)
    params = {"filter_methods": ["unique_value", "iv_filter"], "iv_param": {"threshold": 0.3}}
    fit = select(params, inputs, tmp_path / "fit")
    g2, h2 = tables(tmp_path, rows=20, seed=9)
    replay = data_inputs(g2, h2)
    replay[GUEST]["model"] = InputArtifact("model", fit[GUEST].model)
    replay[HOST]["model"] = InputArtifact("model", fit[HOST].model)
    predicted = select(params, replay, tmp_path / "predict")
    assert header(predicted[GUEST]) == header(fit[GUEST]) == ["g2", "g3", "g4"]
    assert header(predicted[HOST]) == header(fit[HOST]) == ["h1", "h3"]
    assert predicted[GUEST].model is None
    assert np.array_equal(
        load_table(predicted[GUEST].data["data"]).features, load_table(g2).features[:, 2:]
    )


def test_refusals(tmp_path: Path) -> None:
    g, h = tables(tmp_path)
    cases = [
        ({"filter_methods": ["hetero_sbt_filter"]}, "HeteroSecureBoost"),
        ({"filter_methods": ["iv_filter"]}, "HeteroFeatureBinning isometric_model"),
        ({"filter_methods": ["manually"]}, "manually_param"),
        ({"use_anonymous": True}, "use_anonymous"),
        (
            {
                "filter_methods": ["iv_filter"],
                "iv_param": {"filter_type": "top_k", "threshold": 0.5},
            },
            "top_k",
        ),
    ]
    for params, needle in cases:
        with pytest.raises(PartyFailed) as info:
            select(params, data_inputs(g, h), tmp_path / "r")
        assert isinstance(info.value.error, ComponentError), info.value.error
        assert needle in str(info.value.error)


def test_iv_rules_run_one_after_another(tmp_path: Path) -> None:
    g, h = tables(tmp_path)
    gb, hb = binning_models(tmp_path)
    inputs = data_inputs(g, h)
    inputs[GUEST]["isometric_model"] = InputArtifact("model", gb)
    inputs[HOST]["isometric_model"] = InputArtifact("model", hb)
    params = {
        "filter_methods": ["iv_filter"],
        "iv_param": {
            "metrics": ["iv", "iv"],
            "filter_type": ["threshold", "top_k"],
            "threshold": [0.28, 2],
            "take_high": True,
        },
    }
    results = select(params, inputs, tmp_path / "o")
    # ≥ 0.28: g2 0.5, g3 0.3, g4 0.4, h1 0.6, h3 0.35; then the 2 best: h1, g2
    assert header(results[GUEST]) == ["g2"]
    assert header(results[HOST]) == ["h1"]


def test_two_hosts_each_learn_only_their_own_choice(tmp_path: Path) -> None:
    from fedloom.federation import JobParties

    parties = JobParties.of(guest=9999, hosts=[10000, 10001])
    second = parties.hosts[1]
    g, h = tables(tmp_path)
    gb, _ = binning_models(tmp_path)
    model = json.loads(gb.read_text())
    ivs = {"host_10001_0": 0.9, "host_10001_1": 0.01, "host_10001_2": 0.2, "host_10001_3": 0.5}
    model["model_param"]["host_results"].append(
        {"party_id": 10001, "binning_result": {k: {"iv": v} for k, v in ivs.items()}}
    )
    gb.write_text(json.dumps(model))
    inputs = data_inputs(g, h)
    inputs[second] = {"data": InputArtifact("data", h)}
    inputs[GUEST]["isometric_model"] = InputArtifact("model", gb)
    params = {
        "filter_methods": ["iv_filter"],
        "iv_param": {"threshold": 0.3, "host_thresholds": [0.5, 0.1]},
    }
    results = run_module("HeteroFeatureSelection", params, inputs, tmp_path / "o", parties)
    assert header(results[GUEST]) == ["g2", "g3", "g4"]
    assert header(results[HOST]) == ["h1"]  # 0.6 ≥ 0.5 only
    assert header(results[second]) == ["h0", "h2", "h3"]  # ≥ 0.1
    guest = load_model(results[GUEST].model)["model_param"]
    assert [h["party_id"] for h in guest["results"][0]["host_left_cols"]] == [10000, 10001]
