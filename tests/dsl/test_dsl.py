"""fedloom.dsl: FATE DSL v2 jobs parse into plans; every invalid field is named by its path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fedloom.dsl import DslError, JobPlan, load_json, parse_job

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hetero_lr"


def _fate_job() -> tuple[dict[str, Any], dict[str, Any]]:
    """FATE's hetero_lr_normal example (host and arbiter are the same party, 10000)."""
    dsl = json.loads((FIXTURES / "hetero_lr_normal_dsl.json").read_text())
    conf = json.loads((FIXTURES / "hetero_lr_normal_conf.json").read_text())
    return dsl, conf


def _errors(dsl: dict[str, Any], conf: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(DslError) as info:
        parse_job(dsl, conf)
    return dict(info.value.errors)


def _two_hosts() -> tuple[dict[str, Any], dict[str, Any]]:
    dsl, conf = _fate_job()
    conf["role"] = {"guest": [9999], "host": [10000, 10002], "arbiter": [10001]}
    conf["component_parameters"]["role"]["host"] = {
        "all": {"data_transform_0": {"with_label": False}},
        "0|1": {"reader_0": {"table": {"name": "shared", "namespace": "experiment"}}},
        "1": {"reader_0": {"table": {"name": "second"}}},
    }
    conf["component_parameters"]["common"]["hetero_lr_0"]["early_stop"] = "weight_diff"
    return dsl, conf


def test_fate_hetero_lr_normal_example_parses() -> None:
    plan = parse_job(*_fate_job())
    assert [c.name for c in plan.components] == [
        "reader_0",
        "data_transform_0",
        "intersection_0",
        "hetero_lr_0",
        "evaluation_0",
    ]
    assert plan.initiator.role == "guest" and plan.initiator.party_id == 9999
    assert plan.roles == {"guest": [9999], "host": [10000], "arbiter": [10000]}
    assert plan.timeout_s == 86400.0 and plan.job_type == "train"
    lr = plan.component("hetero_lr_0")
    assert lr.roles == ("guest", "host", "arbiter")
    assert [(r.slot, r.kind, r.component, r.output) for r in lr.inputs] == [
        ("train_data", "data", "intersection_0", "data")
    ]
    assert plan.component("reader_0").roles == ("guest", "host")
    assert plan.component("evaluation_0").input_keys()["data"].component == "hetero_lr_0"
    assert [str(r) for r in lr.inputs_by_slot()["train_data"]] == ["intersection_0.data"]


def test_party_playing_host_and_arbiter_gets_both_tasks() -> None:
    plan = parse_job(*_fate_job())
    assert plan.tasks_for_party(10000) == [
        ("reader_0", "host", 0),
        ("data_transform_0", "host", 0),
        ("intersection_0", "host", 0),
        ("hetero_lr_0", "host", 0),
        ("hetero_lr_0", "arbiter", 0),
        ("evaluation_0", "host", 0),
        ("evaluation_0", "arbiter", 0),
    ]
    assert [t[0] for t in plan.tasks_for_party(9999)] == [c.name for c in plan.components]
    assert plan.tasks_for_party(1) == []


def test_params_are_merged_validated_and_normalised() -> None:
    plan = parse_job(*_fate_job())
    guest = plan.params_for("data_transform_0", "guest", 0)
    host = plan.params_for("data_transform_0", "host", 0)
    assert guest["with_label"] is True and host["with_label"] is False
    assert guest["output_format"] == "dense" and guest["label_name"] == "y"
    assert plan.params_for("reader_0", "host", 0)["table"] == {
        "name": "breast_hetero_host",
        "namespace": "experiment",
    }
    lr = plan.params_for("hetero_lr_0", "arbiter", 0)
    assert lr["alpha"] == 0.01 and lr["batch_size"] == 320 and lr["max_iter"] == 30
    assert lr["init_param"]["init_method"] == "zeros" and lr["cv_param"]["random_seed"] == 103
    assert lr["metrics"] == ["auc", "ks"] and lr["encrypt_param"]["key_length"] == 2048
    assert plan.params_for("intersection_0", "guest", 0)["intersect_method"] == "rsa"
    lr["alpha"] = 5.0  # a copy: the plan is not changed
    assert plan.params_for("hetero_lr_0", "arbiter", 0)["alpha"] == 0.01
    with pytest.raises(KeyError):
        plan.params_for("reader_0", "arbiter", 0)


def test_case_insensitive_fate_values_are_normalised() -> None:
    dsl, conf = _fate_job()
    lr = conf["component_parameters"]["common"]["hetero_lr_0"]
    lr.update(penalty="l1", optimizer="ADAM", early_stop="Weight_Diff")
    lr["encrypt_param"] = {"method": "paillier", "key_length": 1024}
    params = parse_job(dsl, conf).params_for("hetero_lr_0", "guest", 0)
    assert params["penalty"] == "L1" and params["optimizer"] == "adam"
    assert params["early_stop"] == "weight_diff" and params["encrypt_param"]["method"] == "Paillier"


def test_the_crypto_backend_is_each_partys_own_choice() -> None:
    """encrypt_param.method and key_length must agree; the backend need not (same wire)."""
    dsl, conf = _fate_job()
    conf["component_parameters"]["role"]["host"]["0"]["hetero_lr_0"] = {
        "encrypt_param": {"backend": "phe"}
    }
    plan = parse_job(dsl, conf)
    host = plan.params_for("hetero_lr_0", "host", 0)["encrypt_param"]
    guest = plan.params_for("hetero_lr_0", "guest", 0)["encrypt_param"]
    assert host["backend"] == "phe"
    assert guest["backend"] == "fedloom"
    assert (host["method"], host["key_length"]) == (guest["method"], guest["key_length"])


def test_index_all_and_groups_merge_by_specificity() -> None:
    plan = parse_job(*_two_hosts())
    first = plan.params_for("reader_0", "host", 0)["table"]
    second = plan.params_for("reader_0", "host", 1)["table"]
    assert first == {"name": "shared", "namespace": "experiment"}
    assert second == {"name": "second", "namespace": "experiment"}
    assert plan.params_for("data_transform_0", "host", 1)["with_label"] is False
    assert plan.tasks_for_party(10002)[0] == ("reader_0", "host", 1)


def test_example_job_parses_with_separate_arbiter() -> None:
    dsl = json.loads((EXAMPLE / "dsl.json").read_text())
    conf = json.loads((EXAMPLE / "conf.json").read_text())
    plan = parse_job(dsl, conf)
    assert plan.roles == {"guest": [9999], "host": [10000], "arbiter": [10001]}
    assert plan.tasks_for_party(10001) == [
        ("hetero_lr_0", "arbiter", 0),
        ("evaluation_0", "arbiter", 0),
    ]
    assert plan.params_for("intersection_0", "host", 0)["intersect_method"] == "rsa"
    assert plan.params_for("reader_0", "guest", 0)["table"]["name"] == "breast_hetero_guest"
    assert plan.timeout_s == 3600.0


def test_plan_json_round_trip() -> None:
    plan = parse_job(*_two_hosts())
    again = JobPlan.from_json(json.loads(json.dumps(plan.to_json())))
    assert again == plan
    assert again.tasks_for_party(10002) == plan.tasks_for_party(10002)


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (lambda d, c: c.pop("dsl_version"), "conf.dsl_version", "DSL v2"),
        (lambda d, c: c.update(dsl_version=1), "conf.dsl_version", "v2 jobs only"),
        (lambda d, c: c.update(role_parameters={}), "conf.role_parameters", "DSL v1"),
        (lambda d, c: c["initiator"].update(party_id=1), "conf.initiator.party_id", "not a guest"),
        (lambda d, c: c["initiator"].update(role="boss"), "conf.initiator.role", "expected one"),
        (lambda d, c: c["role"].update(guest=["9999"]), "conf.role.guest", "integers"),
        (lambda d, c: c["role"].update(guest=[9999, 9998]), "conf.role.guest", "exactly one"),
        (lambda d, c: c["role"].update(assist=[1]), "conf.role.assist", "unknown role"),
        (lambda d, c: c["role"].update(arbiter=[1, 2]), "conf.role.arbiter", "at most one"),
        (
            lambda d, c: d["components"]["hetero_lr_0"].update(module="HeteroLRX"),
            "dsl.components.hetero_lr_0.module",
            "unknown module",
        ),
        (
            lambda d, c: d["components"]["hetero_lr_0"]["input"]["data"].update(
                train_data=["intersection_9.data"]
            ),
            "dsl.components.hetero_lr_0.input.data.train_data",
            "no component 'intersection_9'",
        ),
        (
            lambda d, c: d["components"]["hetero_lr_0"]["input"]["data"].update(
                train_data=["intersection_0.train"]
            ),
            "dsl.components.hetero_lr_0.input.data.train_data",
            "declares no data output 'train'",
        ),
        (
            lambda d, c: d["components"]["intersection_0"]["input"]["data"].update(
                validate_data=["reader_0.data"]
            ),
            "dsl.components.intersection_0.input.data.validate_data",
            "takes no data input",
        ),
        (
            lambda d, c: d["components"]["intersection_0"]["input"].update(
                model=["data_transform_0.model"]
            ),
            "dsl.components.intersection_0.input.model",
            "no model input",
        ),
        (
            lambda d, c: d["components"]["intersection_0"].pop("input"),
            "dsl.components.intersection_0.input.data.data",
            "required",
        ),
        (
            lambda d, c: d["components"]["intersection_0"]["output"].update(caches=["c"]),
            "dsl.components.intersection_0.output.caches",
            "unknown output kind",
        ),
        (
            lambda d, c: d["components"]["evaluation_0"]["input"]["data"].update(
                data=["evaluation_0.data"]
            ),
            "dsl.components.evaluation_0.input.data.data",
            "its own output",
        ),
        (
            lambda d, c: d["components"]["reader_0"].update(
                input={"data": {"data": ["evaluation_0.data"]}}
            ),
            "dsl.components.reader_0.input.data.data",
            "takes no data input",
        ),
        (
            lambda d, c: c["component_parameters"]["common"]["hetero_lr_0"].update(alpah=0.1),
            "conf.component_parameters.common.hetero_lr_0.alpah",
            "unknown parameter",
        ),
        (
            lambda d, c: c["component_parameters"]["common"]["hetero_lr_0"]["init_param"].update(
                init_mthod="zeros"
            ),
            "conf.component_parameters.common.hetero_lr_0.init_param.init_mthod",
            "unknown parameter",
        ),
        (
            lambda d, c: c["component_parameters"]["role"]["guest"]["0"]["data_transform_0"].update(
                with_lable=True
            ),
            "conf.component_parameters.role.guest.0.data_transform_0.with_lable",
            "unknown parameter",
        ),
        (
            lambda d, c: c["component_parameters"]["common"]["hetero_lr_0"].update(max_iter="30"),
            "conf.component_parameters.common.hetero_lr_0.max_iter",
            "valid integer",
        ),
        (
            lambda d, c: c["component_parameters"]["common"]["hetero_lr_0"].update(
                optimizer="lbfgs"
            ),
            "conf.component_parameters.common.hetero_lr_0.optimizer",
            "expected one of",
        ),
        (
            lambda d, c: c["component_parameters"]["common"]["hetero_lr_0"]["cv_param"].update(
                n_splits=0
            ),
            "conf.component_parameters.common.hetero_lr_0.cv_param.n_splits",
            "greater than or equal to",
        ),
        (
            lambda d, c: c["component_parameters"]["common"].update(
                intersection_0={"join_method": "left_join"}
            ),
            "conf.component_parameters.common.intersection_0.join_method",
            "'left_join' is not supported",
        ),
        (
            lambda d, c: c["component_parameters"]["common"].update(hetero_lr_9={}),
            "conf.component_parameters.common.hetero_lr_9",
            "no component 'hetero_lr_9'",
        ),
        (
            lambda d, c: c["component_parameters"]["role"]["host"].update({"1": {}}),
            "conf.component_parameters.role.host.1",
            "out of range",
        ),
        (
            lambda d, c: c["component_parameters"]["role"]["host"].update({"first": {}}),
            "conf.component_parameters.role.host.first",
            "expected 'all'",
        ),
        (
            lambda d, c: c["component_parameters"]["role"].update(arbiter={"0": {"reader_0": {}}}),
            "conf.component_parameters.role.arbiter.0.reader_0",
            "does not run at the arbiter",
        ),
        (
            lambda d, c: c["component_parameters"]["role"]["host"]["0"].pop("reader_0"),
            "conf.component_parameters.role.host.0.reader_0.table",
            "required parameter",
        ),
        (
            lambda d, c: c["component_parameters"]["role"]["host"]["0"].update(
                hetero_lr_0={"max_iter": 5}
            ),
            "conf.component_parameters.role.host.0.hetero_lr_0.max_iter",
            "same at every party",
        ),
        (
            lambda d, c: c["component_parameters"]["role"]["host"]["0"].update(
                hetero_lr_0={"encrypt_param": {"key_length": 3072}}
            ),
            "conf.component_parameters.role.host.0.hetero_lr_0.encrypt_param.key_length",
            "same at every party",
        ),
        (
            lambda d, c: c["component_parameters"]["role"]["host"]["0"].update(
                hetero_lr_0={"encrypt_param": {"method": "ou"}}
            ),
            "conf.component_parameters.role.host.0.hetero_lr_0.encrypt_param.method",
            "same at every party",
        ),
        (
            lambda d, c: c.update(job_parameters={"common": {"job_type": "predict"}}),
            "conf.job_parameters.common.model_id",
            "predict job runs the deployed model",
        ),
        (
            lambda d, c: c.update(job_parameters={"common": {"job_type": "evaluate"}}),
            "conf.job_parameters.common.job_type",
            "'train' or 'predict'",
        ),
        (
            lambda d, c: c.update(job_parameters={"common": {"task_corez": 4}}),
            "conf.job_parameters.common.task_corez",
            "unknown parameter",
        ),
        (
            lambda d, c: c.update(job_parameters={"work_mode": 0}),
            "conf.job_parameters.work_mode",
            "under 'common' or 'role'",
        ),
        (
            lambda d, c: c.update(job_parameters={"role": {"host": {"0": {"timeout": -1}}}}),
            "conf.job_parameters.role.host.0.timeout",
            "greater than 0",
        ),
    ],
)
def test_each_invalid_field_is_named_by_its_path(mutate: Any, path: str, fragment: str) -> None:
    dsl, conf = _fate_job()
    mutate(dsl, conf)
    errors = _errors(dsl, conf)
    assert path in errors, errors
    assert fragment in errors[path]


def test_required_roles_of_modules() -> None:
    dsl, conf = _fate_job()
    del conf["role"]["arbiter"]
    errors = _errors(dsl, conf)
    assert "needs a arbiter" in errors["dsl.components.hetero_lr_0.module"]


def test_cycle_is_reported() -> None:
    dsl, conf = _fate_job()
    dsl["components"]["data_transform_0"]["input"]["data"]["data"] = ["intersection_0.data"]
    errors = _errors(dsl, conf)
    assert "cycle" in errors["dsl.components"]
    assert "intersection_0" in errors["dsl.components"]


def test_all_errors_are_collected_in_one_exception() -> None:
    dsl, conf = _fate_job()
    dsl["components"]["evaluation_0"]["module"] = "Evaluator"
    conf["component_parameters"]["common"]["hetero_lr_0"]["alpah"] = 1
    conf["initiator"]["party_id"] = 5
    with pytest.raises(DslError) as info:
        parse_job(dsl, conf)
    error = info.value
    assert isinstance(error, ValueError)
    paths = [p for p, _ in error.errors]
    assert set(paths) == {
        "conf.initiator.party_id",
        "dsl.components.evaluation_0.module",
        "conf.component_parameters.common.hetero_lr_0.alpah",
    }
    assert error.path == paths[0] and error.message == error.errors[0][1]
    assert "3 errors" in str(error)


def test_error_in_a_group_index_is_located_there() -> None:
    dsl, conf = _two_hosts()
    conf["component_parameters"]["role"]["host"]["0|1"]["data_transform_0"] = {"label_nam": "y"}
    errors = _errors(dsl, conf)
    assert "conf.component_parameters.role.host.0|1.data_transform_0.label_nam" in errors


def test_load_json_refuses_duplicate_component_names() -> None:
    text = '{"components": {"reader_0": {"module": "Reader"}, "reader_0": {"module": "Reader"}}}'
    with pytest.raises(DslError) as info:
        load_json(text, "dsl")
    assert info.value.path == "dsl.reader_0"
    assert load_json('{"components": {}}') == {"components": {}}


def test_non_objects_are_refused() -> None:
    with pytest.raises(DslError) as info:
        parse_job([], {})  # type: ignore[arg-type]
    assert info.value.path == "dsl"


def test_fate_job_is_not_modified() -> None:
    dsl, conf = _fate_job()
    before = copy.deepcopy((dsl, conf))
    parse_job(dsl, conf)
    assert (dsl, conf) == before
