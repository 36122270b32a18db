"""FATE's modelling chain on three real sites (examples/feature_engineering): Reader →
DataTransform → Intersection → HeteroFeatureBinning → HeteroFeatureSelection → FeatureScale →
HeteroLR → Evaluation; then deploy, and a predict job replays every transform."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from e2e_support import clients, start_sites, stop_sites, upload_breast

from services.cli.client import FlowClient
from services.cli.demo import predict_scores
from services.site import Site

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "feature_engineering"


@pytest.fixture(scope="module")
def by_party(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, FlowClient]]:
    base = tmp_path_factory.mktemp("chain")
    running: list[Site] = start_sites(base)
    try:
        party_clients = clients(running)
        upload_breast(party_clients, base / "data")
        yield party_clients
    finally:
        stop_sites(running)


def _job() -> tuple[dict[str, Any], dict[str, Any]]:
    dsl = json.loads((EXAMPLE / "dsl.json").read_text())
    conf = json.loads((EXAMPLE / "conf.json").read_text())
    common = conf["component_parameters"]["common"]
    common["intersection_0"]["rsa_params"]["key_length"] = 2048
    common["hetero_feature_binning_0"]["encrypt_param"] = {"key_length": 1024}
    common["hetero_lr_0"].update(max_iter=3, encrypt_param={"key_length": 1024})
    return dsl, conf


def test_the_chain_trains_deploys_and_predicts(by_party: dict[int, FlowClient]) -> None:
    guest, host = by_party[9999], by_party[10000]
    dsl, conf = _job()
    created = guest.submit_job(dsl, conf)
    job = guest.wait(created["job_id"], timeout=400)
    assert job["status"] == "success", job
    job_id = created["job_id"]

    binning = guest._call(
        "GET", f"/api/v1/jobs/{job_id}/components/hetero_feature_binning_0/output/model"
    )
    param = binning["model_param"]
    assert param["binning_result"] and param["host_results"][0]["party_id"] == 10000
    host_view = next(iter(param["host_results"][0]["binning_result"].values()))
    assert "split_points" not in host_view and "iv" in host_view
    host_binning = host._call(
        "GET", f"/api/v1/jobs/{job_id}/components/hetero_feature_binning_0/output/model"
    )
    assert all("iv" not in r for r in host_binning["model_param"]["binning_result"].values())

    selection = guest._call(
        "GET", f"/api/v1/jobs/{job_id}/components/hetero_feature_selection_0/output/model"
    )
    kept = selection["model_param"]["final_left_cols"]["left_cols"]
    host_selection = host._call(
        "GET", f"/api/v1/jobs/{job_id}/components/hetero_feature_selection_0/output/model"
    )
    host_kept = host_selection["model_param"]["final_left_cols"]["left_cols"]
    assert sum(kept.values()) + sum(host_kept.values()) == 12  # iv top_k over both parties
    auc = guest.metrics(job_id, "evaluation_0")
    assert "auc" in json.dumps(auc)

    info = created["model_info"]
    deployed = guest.deploy(info["model_id"], info["model_version"])
    assert "hetero_feature_selection_0" in deployed["inference_dsl"]["components"]
    predict_conf = copy.deepcopy(json.loads((EXAMPLE / "predict_conf.json").read_text()))
    predict_conf["job_parameters"]["common"]["model_version"] = deployed["model_version"]
    predicted = guest.submit_job(None, predict_conf)
    result = guest.wait(predicted["job_id"], timeout=400)
    assert result["status"] == "success", result
    trained = predict_scores("".join(guest.download_csv(job_id, "hetero_lr_0")))
    scored = predict_scores("".join(guest.download_csv(predicted["job_id"], "hetero_lr_0")))
    assert scored == trained and len(scored) > 100


def _write_csv(path: Path, header: list[str], ids: list[str], columns: Any) -> Path:
    lines = [",".join(header)]
    lines += [
        ",".join([i, *(repr(float(v)) for v in row)]) for i, row in zip(ids, columns, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _recount(values: Any, points: list[float], y: Any) -> tuple[list[int], list[int]]:
    """Per-bin event / non-event counts: a value falls in the first bin whose split point is at
    least the value (values above the last in the last), as the model's docs say."""
    bins = np.minimum(np.searchsorted(np.asarray(points), values, side="left"), len(points) - 1)
    events = np.bincount(bins, weights=y, minlength=len(points)).astype(int)
    totals = np.bincount(bins, minlength=len(points))
    return events.tolist(), (totals - events).tolist()


def _iv(events: list[int], non_events: list[int], adjustment: float = 0.5) -> float:
    total_e, total_n = sum(events), sum(non_events)
    iv = 0.0
    for e, n in zip(events, non_events, strict=True):
        if e == 0 or n == 0:
            e, n = e + adjustment, n + adjustment
        rate_e, rate_n = e / total_e, n / total_n
        iv += (rate_e - rate_n) * math.log(rate_e / rate_n)
    return iv


def test_binning_30000_rows_through_rest_matches_a_central_recount(
    by_party: dict[int, FlowClient], tmp_path: Path
) -> None:
    rng = np.random.default_rng(11)
    rows = 30000
    x = rng.normal(size=(rows, 15))
    y = (x[:, :15] @ rng.normal(size=15) + rng.normal(size=rows) > 0).astype(float)
    ids = [f"c{i:06d}" for i in range(rows)]
    guest_csv = _write_csv(
        tmp_path / "g.csv", ["id", "y", *[f"x{j}" for j in range(5)]], ids, np.c_[y, x[:, :5]]
    )
    order = rng.permutation(rows)
    host_csv = _write_csv(
        tmp_path / "h.csv",
        ["id", *[f"h{j}" for j in range(10)]],
        [ids[i] for i in order],
        x[order, 5:],
    )
    by_party[9999].upload_table("big", "guest", guest_csv, "y")
    by_party[10000].upload_table("big", "host", host_csv)
    dsl = {"components": {k: v for k, v in _job()[0]["components"].items() if k in KEEP}}
    dsl["components"]["hetero_feature_binning_0"]["output"] = {"model": ["model"]}
    conf = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": 9999},
        "role": {"guest": [9999], "host": [10000]},
        "component_parameters": {
            "common": {
                "intersection_0": {"intersect_method": "ecdh"},
                "hetero_feature_binning_0": {
                    "method": "quantile",
                    "bin_num": 10,
                    "encrypt_param": {"method": "ou", "key_length": 1024},
                },
            },
            "role": {
                "guest": {
                    "0": {
                        "reader_0": {"table": {"namespace": "big", "name": "guest"}},
                        "data_transform_0": {"with_label": True, "label_name": "y"},
                    }
                },
                "host": {"0": {"reader_0": {"table": {"namespace": "big", "name": "host"}}}},
            },
        },
    }
    job_id = by_party[9999].submit(dsl, conf)
    assert by_party[9999].wait(job_id, timeout=400)["status"] == "success"
    path = f"/api/v1/jobs/{job_id}/components/hetero_feature_binning_0/output/model"
    guest = by_party[9999]._call("GET", path)["model_param"]
    host = by_party[10000]._call("GET", path)["model_param"]
    for j in range(5):
        result = guest["binning_result"][f"x{j}"]
        counts = _recount(x[:, j], result["split_points"], y)
        assert (result["event_count_array"], result["non_event_count_array"]) == counts
        assert result["iv"] == pytest.approx(_iv(*counts), abs=1e-6)
    (host_part,) = guest["host_results"]
    assert host_part["party_id"] == 10000
    for j in range(10):
        seen = host_part["binning_result"][f"host_10000_{j}"]
        assert "split_points" not in seen
        counts = _recount(x[:, 5 + j], host["binning_result"][f"h{j}"]["split_points"], y)
        assert (seen["event_count_array"], seen["non_event_count_array"]) == counts
        assert seen["iv"] == pytest.approx(_iv(*counts), abs=1e-6)
        assert "iv" not in host["binning_result"][f"h{j}"]


KEEP = ("reader_0", "data_transform_0", "intersection_0", "hetero_feature_binning_0")
