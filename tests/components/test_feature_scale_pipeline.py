"""The feature transformers in a FATE job: ColumnExpand → DataTransform → Intersection →
FeatureImputation → OneHotEncoder → FeatureScale → LabelTransform → HeteroLR, then the
deployed inference DSL replays every transform in a predict job."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_components import PLAIN_KEYS, TABLE_META, make_tables, relaxed_keyring

from fedloom.components import (
    REGISTRY,
    InputArtifact,
    TaskResult,
    load_model,
    load_table,
    run_task,
)
from fedloom.dsl import parse_job
from fedloom.dsl.deploy import build_inference_dsl, merge_predict_conf
from fedloom.federation import Context, JobParties, Party, run_parties

pytestmark = pytest.mark.integration

Results = dict[tuple[str, int, str], TaskResult]
ROLES = {"guest": [9999], "host": [10000], "arbiter": [10001]}
CHAIN = [
    ("reader_0", "Reader", None),
    ("column_expand_0", "ColumnExpand", "reader_0"),
    ("data_transform_0", "DataTransform", "column_expand_0"),
    ("intersection_0", "Intersection", "data_transform_0"),
    ("feature_imputation_0", "FeatureImputation", "intersection_0"),
    ("one_hot_encoder_0", "OneHotEncoder", "feature_imputation_0"),
    ("feature_scale_0", "FeatureScale", "one_hot_encoder_0"),
    ("label_transform_0", "LabelTransform", "feature_scale_0"),
]
TRANSFORMERS = {name for name, module, _ in CHAIN if module not in ("Reader", "Intersection")}
TRANSFORMERS.discard("data_transform_0")


def train_job() -> tuple[dict[str, Any], dict[str, Any]]:
    """The DSL and conf of the chain above, then HeteroLR."""
    components: dict[str, Any] = {}
    for name, module, upstream in CHAIN:
        body: dict[str, Any] = {"module": module, "output": {"data": ["data"]}}
        if upstream is not None:
            body["input"] = {"data": {"data": [f"{upstream}.data"]}}
        if module not in ("Reader", "Intersection"):
            body["output"]["model"] = ["model"]
        components[name] = body
    components["hetero_lr_0"] = {
        "module": "HeteroLR",
        "input": {"data": {"train_data": ["label_transform_0.data"]}},
        "output": {"data": ["data"], "model": ["model"]},
    }
    tables: dict[str, dict[str, Any]] = {
        "guest": {"reader_0": {"table": {"name": "g", "namespace": "experiment"}}},
        "host": {"reader_0": {"table": {"name": "h", "namespace": "experiment"}}},
    }
    tables["guest"]["data_transform_0"] = {"with_label": True}
    common = {
        "column_expand_0": {"append_header": ["segment"], "fill_value": 2},
        # DataTransform refuses missing cells unless it fills them: it marks them -999 here
        "data_transform_0": {"missing_fill": True, "default_value": -999},
        "intersection_0": {"intersect_method": "rsa", "rsa_params": {"key_length": 1024}},
        "feature_imputation_0": {"missing_fill_method": "median", "missing_impute": [-999]},
        "one_hot_encoder_0": {"transform_col_indexes": None, "transform_col_names": ["segment"]},
        "feature_scale_0": {"method": "min_max_scale", "feat_upper": 2.0},
        "hetero_lr_0": {"max_iter": 5, "batch_size": -1, "init_param": {"init_method": "zeros"}},
    }
    conf = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": 9999},
        "role": ROLES,
        "component_parameters": {
            "common": common,
            "role": {role: {"0": value} for role, value in tables.items()},
        },
    }
    return {"components": components}, conf


def run_plan(
    dsl: dict[str, Any],
    conf: dict[str, Any],
    tables: dict[int, Path],
    out: Path,
    deployed: Results | None = None,
) -> Results:
    """Every party's tasks in DAG order, one thread per party; ``pipeline.<c>`` inputs are
    the party's own outputs of ``c`` in ``deployed``."""
    plan = parse_job(dsl, conf)
    parties = JobParties.of(guest=9999, hosts=[10000], arbiter=10001)
    results: Results = {}
    lock = threading.Lock()

    def party_task(party: Party) -> Callable[[Context], None]:
        def run(ctx: Context) -> None:
            for name, role, index in plan.tasks_for_party(party.party_id):
                comp = plan.component(name)
                inputs: dict[str, InputArtifact] = {}
                if comp.module == "Reader":
                    inputs["table"] = InputArtifact("table", tables[party.party_id], TABLE_META)
                for key, ref in comp.input_keys().items():
                    source = deployed if ref.deployed else results
                    upstream = (source or {}).get(
                        (role, party.party_id, ref.component.removeprefix("pipeline."))
                    )
                    if upstream is None:
                        continue
                    path = upstream.data.get("data") if ref.kind == "data" else upstream.model
                    if path is not None:
                        inputs[key] = InputArtifact(ref.kind, path)
                result = run_task(
                    comp.module,
                    role,
                    party.party_id,
                    ctx.sub(name),
                    plan.params_for(name, role, index),
                    inputs,
                    out / str(party.party_id) / role / name,
                    hooks=PLAIN_KEYS,
                )
                with lock:
                    results[(role, party.party_id, name)] = result

        return run

    run_parties(
        parties,
        {p: party_task(p) for p in parties.all},
        keyring=relaxed_keyring,
        timeout=120,
    )
    return results


def test_train_then_predict_replays_every_transform(tmp_path: Path) -> None:
    guest_csv, host_csv, shared = make_tables(tmp_path / "in", missing=4)
    tables = {9999: guest_csv, 10000: host_csv}
    dsl, conf = train_job()
    trained = run_plan(dsl, conf, tables, tmp_path / "train")

    guest = load_table(trained[("guest", 9999, "feature_scale_0")].data["data"])
    host = load_table(trained[("host", 10000, "feature_scale_0")].data["data"])
    assert guest.header == ["x0", "x1", "x2", "segment_2"] and guest.ids == shared
    assert host.header == ["x0", "x1", "x2", "x3", "segment_2"]
    assert not np.isnan(guest.features).any() and guest.features.max() <= 1.0
    imputed = trained[("guest", 9999, "feature_imputation_0")]
    assert imputed.metrics["filled_cells"] >= 1
    assert ("host", 10000, "label_transform_0") in trained
    assert trained[("host", 10000, "label_transform_0")].model is None
    guest_scale = load_model(trained[("guest", 9999, "feature_scale_0")].model)  # type: ignore[arg-type]
    assert guest_scale["param"]["col_scale_param"]["x0"]["column_upper"] <= 2.0

    inference = build_inference_dsl(dsl, REGISTRY)
    assert "pipeline.feature_scale_0.model" in str(inference)
    predict_conf = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": 9999},
        "role": ROLES,
        "job_parameters": {
            "common": {"job_type": "predict", "model_id": "m", "model_version": "v"}
        },
        "component_parameters": copy.deepcopy(conf["component_parameters"]["role"]),
    }
    predict_conf["component_parameters"] = {"role": predict_conf["component_parameters"]}
    merged = merge_predict_conf(conf, predict_conf, list(inference["components"]))
    predicted = run_plan(inference, merged, tables, tmp_path / "predict", deployed=trained)

    for party, role in ((9999, "guest"), (10000, "host")):
        for name, _, _ in CHAIN[1:]:
            if name == "intersection_0" or (role, party, name) not in trained:
                continue
            before = load_table(trained[(role, party, name)].data["data"])
            after = load_table(predicted[(role, party, name)].data["data"])
            assert after.header == before.header, name
            np.testing.assert_array_equal(after.features, before.features)
            mode = predicted[(role, party, name)].metrics.get("mode")
            if name in TRANSFORMERS:
                expected = (
                    "pass_through" if (role, name) == ("host", "label_transform_0") else "transform"
                )
                assert mode == expected, (role, name)
    train_scores = load_table(trained[("guest", 9999, "hetero_lr_0")].data["data"])
    predict_scores = load_table(predicted[("guest", 9999, "hetero_lr_0")].data["data"])
    np.testing.assert_allclose(predict_scores.features, train_scores.features)
