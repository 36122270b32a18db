"""FATE's modelling chain on three real sites (examples/feature_engineering): Reader →
DataTransform → Intersection → HeteroFeatureBinning → HeteroFeatureSelection → FeatureScale →
HeteroLR → Evaluation; then deploy, and a predict job replays every transform."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import clients, start_sites, stop_sites, upload_breast

from services.cli.client import FlowClient
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


def _scores(text: str) -> dict[str, str]:
    return {r["id"]: r["predict_score"] for r in csv.DictReader(io.StringIO(text))}


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
    trained = _scores("".join(guest.download_csv(job_id, "hetero_lr_0")))
    scored = _scores("".join(guest.download_csv(predicted["job_id"], "hetero_lr_0")))
    assert scored == trained and len(scored) > 100
