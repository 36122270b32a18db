"""HeteroFeatureSelection on the models the real upstream components write: binning (binary
and multi-class) for IV filters, PSI for psi_filter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_feature_binning import make_split, run_binning
from test_selection import header, select
from test_statistics import GUEST, HOST, run_module

from fedloom.components import InputArtifact, load_model, load_table, save_table
from fedloom.data import Table

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("classes", [2, 3])
def test_iv_top_k_on_a_real_binning_model(tmp_path: Path, classes: int) -> None:
    guest, host, _ = make_split(tmp_path, rows=300, classes=classes)
    data = {
        GUEST: {"data": InputArtifact("data", guest)},
        HOST: {"data": InputArtifact("data", host)},
    }
    binned, _ = run_binning({"bin_num": 5}, data, tmp_path / "bin")
    binning = load_model(binned[GUEST].model)["model_param"]
    ivs: dict[str, float] = {}
    if classes == 2:
        ivs = {n: r["iv"] for n, r in binning["binning_result"].items()}
        ivs |= {n: r["iv"] for n, r in binning["host_results"][0]["binning_result"].items()}
    else:
        multi = binning["multi_class_result"]
        per_class = [r["binning_result"] for r in multi["results"]]
        hosts = [h[0]["binning_result"] for h in multi["host_results"]]
        ivs = {n: max(c[n]["iv"] for c in per_class) for n in per_class[0]}
        ivs |= {n: max(c[n]["iv"] for c in hosts) for n in hosts[0]}
    best = sorted(ivs, key=lambda n: -ivs[n])[:3]
    inputs = {
        p: {**data[p], "isometric_model": InputArtifact("model", binned[p].model)}
        for p in (GUEST, HOST)
    }
    params = {
        "filter_methods": ["iv_filter"],
        "iv_param": {"filter_type": "top_k", "threshold": 3, "mul_class_merge_type": "max"},
    }
    results = select(params, inputs, tmp_path / "sel")
    kept_guest = header(results[GUEST])
    kept_host = [f"host_10000_{['h0', 'h1', 'h2', 'h3'].index(n)}" for n in header(results[HOST])]
    assert sorted(kept_guest + kept_host) == sorted(best)


def test_psi_filter_on_a_real_psi_model(tmp_path: Path) -> None:
    guest, host, _ = make_split(tmp_path, rows=300)
    table = load_table(guest)
    later = table.features.copy()
    later[:, 1] += 2.0  # x1 drifts
    shifted = save_table(
        tmp_path / "later.npz", Table(table.ids, table.header, later, table.labels)
    )
    solo_inputs = {
        GUEST: {
            "expect_data": InputArtifact("data", guest),
            "actual_data": InputArtifact("data", shifted),
        },
        HOST: {
            "expect_data": InputArtifact("data", host),
            "actual_data": InputArtifact("data", host),
        },
    }
    psi = run_module("PSI", {}, solo_inputs, tmp_path / "psi")
    inputs = {
        p: {
            "data": InputArtifact("data", guest if p == GUEST else host),
            "isometric_model": InputArtifact("model", psi[p].model),
        }
        for p in (GUEST, HOST)
    }
    params = {"filter_methods": ["psi_filter"], "psi_param": {"threshold": 0.25}}
    results = select(params, inputs, tmp_path / "sel")
    assert header(results[GUEST]) == ["x0", "x2"]
    assert header(results[HOST]) == ["h0", "h1", "h2", "h3"]
    values = load_model(results[GUEST].model)["model_param"]["results"][0]["feature_values"]
    assert values["x1"] > 0.25 > max(values["x0"], values["x2"])
    assert np.isfinite(list(values.values())).all()


def test_fate_job_parses_and_deploys_the_selection_only() -> None:
    from fedloom.components import REGISTRY
    from fedloom.dsl import parse_job
    from fedloom.dsl.deploy import build_inference_dsl

    def cpn(module: str, source: str, **extra: object) -> dict[str, object]:
        return {
            "module": module,
            "input": {"data": {"data": [source]}, **extra},
            "output": {"data": ["data"], "model": ["model"]},
        }

    dsl = {
        "components": {
            "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
            "binning_0": cpn("HeteroFeatureBinning", "reader_0.data"),
            "statistic_0": cpn("DataStatistics", "reader_0.data"),
            "pearson_0": cpn("HeteroPearson", "reader_0.data"),
            "selection_0": cpn(
                "HeteroFeatureSelection",
                "binning_0.data",
                isometric_model=["binning_0.model", "statistic_0.model", "pearson_0.model"],
            ),
        }
    }
    conf = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": 9999},
        "role": {"guest": [9999], "host": [10000]},
        "component_parameters": {
            "common": {
                "selection_0": {
                    "filter_methods": [
                        "unique_value",
                        "iv_value_thres",
                        "statistic_filter",
                        "correlation_filter",
                    ],
                    "statistic_param": {
                        "metrics": ["skewness", "kurtosis"],
                        "threshold": [-10, 10],
                        "take_high": [True, False],
                    },
                },
                "statistic_0": {"statistics": ["95%", "stddev"]},
                "pearson_0": {"column_indexes": -1},
            },
            "role": {
                "guest": {"0": {"reader_0": {"table": {"name": "g", "namespace": "x"}}}},
                "host": {"0": {"reader_0": {"table": {"name": "h", "namespace": "x"}}}},
            },
        },
    }
    plan = parse_job(dsl, conf)
    selection = next(c for c in plan.components if c.name == "selection_0")
    assert list(selection.input_keys()) == [
        "data",
        "isometric_model",
        "isometric_model_1",
        "isometric_model_2",
    ]
    inference = build_inference_dsl(dsl, REGISTRY)["components"]
    assert "statistic_0" not in inference and "pearson_0" not in inference
    assert inference["selection_0"]["input"]["model"] == ["pipeline.selection_0.model"]
