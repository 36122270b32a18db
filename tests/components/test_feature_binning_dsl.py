"""HeteroFeatureBinning in FATE DSL v2 jobs: role parameters, consistency, deployment."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from test_feature_binning import GUEST, HOST, fit, make_split, model_path

from fedloom.components import load_model
from fedloom.components.registry import REGISTRY
from fedloom.dsl import DslError, parse_job
from fedloom.dsl.deploy import build_inference_dsl

pytestmark = pytest.mark.unit


def job() -> tuple[dict[str, Any], dict[str, Any]]:
    """Reader → DataTransform → Intersection → HeteroFeatureBinning, as FATE's examples."""
    dsl = {
        "components": {
            "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
            "data_transform_0": {
                "module": "DataTransform",
                "input": {"data": {"data": ["reader_0.data"]}},
                "output": {"data": ["data"], "model": ["model"]},
            },
            "intersection_0": {
                "module": "Intersection",
                "input": {"data": {"data": ["data_transform_0.data"]}},
                "output": {"data": ["data"]},
            },
            "hetero_feature_binning_0": {
                "module": "HeteroFeatureBinning",
                "input": {"data": {"data": ["intersection_0.data"]}},
                "output": {"data": ["data"], "model": ["model"]},
            },
        }
    }
    conf = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": 9999},
        "role": {"guest": [9999], "host": [10000]},
        "component_parameters": {
            "common": {
                "hetero_feature_binning_0": {
                    "method": "quantile",
                    "compress_thres": 10000,
                    "head_size": 10000,
                    "error": 0.001,
                    "bin_num": 10,
                    "bin_indexes": -1,
                    "bin_names": None,
                    "category_indexes": None,
                    "category_names": None,
                    "adjustment_factor": 0.5,
                    "local_only": False,
                    "transform_param": {"transform_cols": -1, "transform_type": "bin_num"},
                }
            },
            "role": {
                "guest": {
                    "0": {
                        "reader_0": {"table": {"name": "g", "namespace": "experiment"}},
                        "data_transform_0": {"with_label": True},
                        "hetero_feature_binning_0": {"transform_param": {"transform_type": "woe"}},
                    }
                },
                "host": {
                    "0": {
                        "reader_0": {"table": {"name": "h", "namespace": "experiment"}},
                        "data_transform_0": {"with_label": False},
                        "hetero_feature_binning_0": {
                            "bin_indexes": [0, 2],
                            "category_indexes": [1],
                            "transform_param": {"transform_type": None},
                        },
                    }
                },
            },
        },
    }
    return dsl, conf


def test_a_fate_binning_job_parses_with_role_parameters() -> None:
    plan = parse_job(*job())
    binning = plan.component("hetero_feature_binning_0")
    assert binning.roles == ("guest", "host")
    host = plan.params_for("hetero_feature_binning_0", "host", 0)
    assert host["bin_indexes"] == [0, 2] and host["category_indexes"] == [1]
    guest = plan.params_for("hetero_feature_binning_0", "guest", 0)
    assert guest["transform_param"]["transform_type"] == "woe"
    assert guest["encrypt_param"]["key_length"] == 2048


def test_parties_agree_on_method_and_may_differ_in_bin_num() -> None:
    dsl, conf = job()
    own = copy.deepcopy(conf)
    host = own["component_parameters"]["role"]["host"]["0"]["hetero_feature_binning_0"]
    host["bin_num"] = 5  # FATE's asymmetric example: each party bins its own columns
    parse_job(dsl, own)
    host["method"] = "bucket"
    with pytest.raises(DslError, match="method"):
        parse_job(dsl, own)


@pytest.mark.integration
def test_host_bins_of_its_own_number_reach_the_guest(tmp_path: Path) -> None:
    tables = make_split(tmp_path)
    params = {GUEST: {"bin_num": 10}, HOST: {"bin_num": 4}}
    results, _ = fit(tmp_path / "fit", params, (tables[0], tables[1]))  # type: ignore[arg-type]
    guest = load_model(model_path(results[GUEST]))["model_param"]
    (host,) = guest["host_results"]
    assert all(len(r["event_count_array"]) <= 4 for r in host["binning_result"].values())
    assert max(len(r["event_count_array"]) for r in guest["binning_result"].values()) > 4


def test_unknown_or_invalid_parameters_are_named_by_path() -> None:
    dsl, conf = job()
    bad = copy.deepcopy(conf)
    common = bad["component_parameters"]["common"]["hetero_feature_binning_0"]
    common["method"] = "chimerge"
    common["bins"] = 3
    with pytest.raises(DslError) as info:
        parse_job(dsl, bad)
    paths = " ".join(path for path, _ in info.value.errors)
    assert "hetero_feature_binning_0" in paths and "method" in paths and "bins" in paths


def test_deploying_keeps_binning_with_its_model_for_predict_jobs() -> None:
    dsl, _ = job()
    inference = build_inference_dsl(dsl, REGISTRY)
    entry = inference["components"]["hetero_feature_binning_0"]
    assert entry["input"]["model"] == ["pipeline.hetero_feature_binning_0.model"]
    assert entry["input"]["data"] == {"data": ["intersection_0.data"]}
