"""FATE's model ids, the inference DSL of a deploy, user predict DSLs and predict confs."""

from __future__ import annotations

from typing import Any

import pytest

from fedloom.components import REGISTRY
from fedloom.dsl import DslError
from fedloom.dsl.deploy import (
    build_inference_dsl,
    check_inference_dsl,
    merge_predict_conf,
    model_id_of,
)

pytestmark = pytest.mark.unit

TRAIN_DSL: dict[str, Any] = {
    "components": {
        "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
        "reader_1": {"module": "Reader", "output": {"data": ["data"]}},
        "data_transform_0": {
            "module": "DataTransform",
            "input": {"data": {"data": ["reader_0.data"]}},
            "output": {"data": ["data"], "model": ["model"]},
        },
        "data_transform_1": {
            "module": "DataTransform",
            "input": {"data": {"data": ["reader_1.data"]}, "model": ["data_transform_0.model"]},
            "output": {"data": ["data"]},
            "need_deploy": False,
        },
        "intersection_0": {
            "module": "Intersection",
            "input": {"data": {"data": ["data_transform_0.data"]}},
            "output": {"data": ["data"]},
        },
        "hetero_lr_0": {
            "module": "HeteroLR",
            "input": {
                "data": {
                    "train_data": ["intersection_0.data"],
                    "validate_data": ["data_transform_1.data"],
                }
            },
            "output": {"data": ["data"], "model": ["model"]},
        },
        "evaluation_0": {
            "module": "Evaluation",
            "input": {"data": {"data": ["hetero_lr_0.data"]}},
        },
    }
}


def test_model_id_is_fates() -> None:
    roles = {"host": [10000, 9998], "guest": [9999], "arbiter": [10000]}
    assert model_id_of(roles) == "arbiter-10000#guest-9999#host-9998_10000#model"


def test_inference_dsl_by_default() -> None:
    dsl = build_inference_dsl(TRAIN_DSL, REGISTRY)["components"]
    # Evaluation (need_deploy false in its declaration) and the DSL's own opt-out are left
    # out, and so is the reader feeding only the left-out validate branch.
    assert list(dsl) == ["reader_0", "data_transform_0", "intersection_0", "hetero_lr_0"]
    assert dsl["reader_0"] == {"module": "Reader", "output": {"data": ["data"]}}
    assert dsl["data_transform_0"]["input"] == {
        "data": {"data": ["reader_0.data"]},
        "model": ["pipeline.data_transform_0.model"],
    }
    assert dsl["intersection_0"]["input"] == {"data": {"data": ["data_transform_0.data"]}}
    assert dsl["hetero_lr_0"] == {
        "module": "HeteroLR",
        "input": {
            "data": {"test_data": ["intersection_0.data"]},
            "model": ["pipeline.hetero_lr_0.model"],
        },
        "output": {"data": ["data"]},
    }


def test_inference_dsl_of_a_component_list() -> None:
    names = ["reader_0", "data_transform_0", "intersection_0", "hetero_lr_0", "evaluation_0"]
    dsl = build_inference_dsl(TRAIN_DSL, REGISTRY, names)["components"]
    assert list(dsl) == names
    assert dsl["evaluation_0"]["input"] == {"data": {"data": ["hetero_lr_0.data"]}}
    with pytest.raises(DslError) as missing:
        build_inference_dsl(TRAIN_DSL, REGISTRY, ["reader_0", "hetero_lr_0"])
    assert missing.value.errors == [
        (
            "cpn_list",
            "hetero_lr_0 reads intersection_0.data, but intersection_0 is not deployed; "
            "add it to cpn_list",
        )
    ]
    with pytest.raises(DslError) as unknown:
        build_inference_dsl(TRAIN_DSL, REGISTRY, ["reader_0", "secureboost_0"])
    assert unknown.value.errors[0][0] == "cpn_list.1"


def test_user_predict_dsl_is_checked_against_the_model() -> None:
    trained = {"hetero_lr_0": "HeteroLR", "data_transform_0": "DataTransform"}
    good = {
        "components": {
            "hetero_lr_0": {
                "module": "HeteroLR",
                "input": {"model": ["pipeline.hetero_lr_0.model"]},
            }
        }
    }
    assert check_inference_dsl(good, trained) == good
    wrong_module = {
        "components": {
            "lr": {"module": "HeteroLinR", "input": {"model": ["pipeline.hetero_lr_0.model"]}}
        }
    }
    with pytest.raises(DslError, match="trained as HeteroLR, not HeteroLinR"):
        check_inference_dsl(wrong_module, trained)
    with pytest.raises(DslError, match="names no trained component"):
        check_inference_dsl(
            {"components": {"x": {"module": "HeteroLR", "input": {"model": ["pipeline.x.model"]}}}},
            trained,
        )
    with pytest.raises(DslError, match="must be a DSL object"):
        check_inference_dsl({"nodes": {}}, trained)


def test_predict_conf_overrides_the_train_conf() -> None:
    roles = {"guest": [9999], "host": [10000], "arbiter": [10001]}
    train = {
        "role": roles,
        "component_parameters": {
            "common": {
                "hetero_lr_0": {"max_iter": 5, "predict_param": {"threshold": 0.5}},
                "evaluation_0": {"eval_type": "binary"},
            },
            "role": {
                "guest": {
                    "0": {
                        "reader_0": {"table": {"namespace": "a", "name": "train"}},
                        "reader_1": {"table": {"namespace": "a", "name": "validate"}},
                    }
                }
            },
        },
    }
    predict = {
        "role": roles,
        "job_parameters": {"common": {"job_type": "predict"}},
        "component_parameters": {
            "common": {"hetero_lr_0": {"predict_param": {"threshold": 0.3}}},
            "role": {"guest": {"0": {"reader_0": {"table": {"namespace": "a", "name": "test"}}}}},
        },
    }
    merged = merge_predict_conf(train, predict, ["reader_0", "hetero_lr_0"])
    params = merged["component_parameters"]
    assert set(params["common"]) == {"hetero_lr_0"}
    assert set(params["role"]["guest"]["0"]) == {"reader_0"}
    assert params["common"]["hetero_lr_0"] == {"max_iter": 5, "predict_param": {"threshold": 0.3}}
    assert params["role"]["guest"]["0"]["reader_0"]["table"]["name"] == "test"
    assert merged["job_parameters"] == {"common": {"job_type": "predict"}}
    assert train["component_parameters"]["common"]["hetero_lr_0"]["predict_param"] == {
        "threshold": 0.5
    }
    with pytest.raises(DslError, match="parties the model was trained at"):
        merge_predict_conf(train, {**predict, "role": {**roles, "host": [10002]}}, [])
