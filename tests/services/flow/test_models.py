"""The model registry over REST: train jobs register models, deploy, predict jobs, export and
import, CSV downloads (flows wired in process, the real DSL parser, the fake executor)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flow_support import (
    ARBITER,
    AUTH,
    GUEST,
    GUEST_CSV,
    HOST,
    HOST_CSV,
    Site,
    running_sites,
    sample_job,
    upload,
    wait_status,
)

from services.flow.planning import fedloom_planner

pytestmark = pytest.mark.integration

MODEL_ID = f"arbiter-{ARBITER}#guest-{GUEST}#host-{HOST}#model"


def _train(sites: dict[int, Site]) -> dict[str, Any]:
    assert upload(sites[GUEST], "exp", "guest", GUEST_CSV).status_code == 201
    assert upload(sites[HOST], "exp", "host", HOST_CSV).status_code == 201
    response = sites[GUEST].client.post("/api/v1/jobs", json=sample_job(), headers=AUTH)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    for site in sites.values():
        wait_status(site, created["job_id"], "success")
    return created


def _deploy(site: Site, version: str, **extra: Any) -> Any:
    body = {"model_id": MODEL_ID, "model_version": version, **extra}
    return site.client.post("/api/v1/models/deploy", json=body, headers=AUTH)


def _predict_conf(version: str, table: str = "guest") -> dict[str, Any]:
    return {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": GUEST},
        "role": {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]},
        "job_parameters": {
            "common": {"job_type": "predict", "model_id": MODEL_ID, "model_version": version}
        },
        "component_parameters": {
            "role": {"guest": {"0": {"reader_0": {"table": {"namespace": "exp", "name": table}}}}}
        },
    }


def _models(site: Site) -> list[dict[str, Any]]:
    response = site.client.get("/api/v1/models", headers=AUTH)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def test_train_deploy_predict(tmp_path: Path) -> None:
    with running_sites(tmp_path, planner=fedloom_planner) as sites:
        created = _train(sites)
        job_id = created["job_id"]
        assert created["model_info"] == {"model_id": MODEL_ID, "model_version": job_id}
        detail = sites[HOST].client.get(f"/api/v1/jobs/{job_id}", headers=AUTH).json()
        assert detail["model_info"] == created["model_info"] and detail["job_type"] == "train"
        for party, role in ((GUEST, "guest"), (HOST, "host"), (ARBITER, "arbiter")):
            (model,) = _models(sites[party])
            assert (model["model_id"], model["model_version"]) == (MODEL_ID, job_id)
            assert model["kind"] == "trained"
            assert model["local_parts"]["hetero_lr_0"] == [role]

        not_deployed = sites[GUEST].client.post(
            "/api/v1/jobs", json={"conf": _predict_conf(job_id)}, headers=AUTH
        )
        assert not_deployed.status_code == 422
        assert "not deployed" in json.dumps(not_deployed.json())

        deployed = _deploy(sites[GUEST], job_id)
        assert deployed.status_code == 200, deployed.text
        child = deployed.json()["model_version"]
        assert child != job_id and deployed.json()["parent_version"] == job_id
        lr = deployed.json()["inference_dsl"]["components"]["hetero_lr_0"]
        assert lr["input"] == {
            "data": {"test_data": ["intersection_0.data"]},
            "model": ["pipeline.hetero_lr_0.model"],
        }
        for site in sites.values():
            versions = {m["model_version"]: m for m in _models(site)}
            assert versions[child]["kind"] == "deployed"
            assert versions[child]["inference_dsl"] == deployed.json()["inference_dsl"]

        submitted = sites[GUEST].client.post(
            "/api/v1/jobs", json={"conf": _predict_conf(child)}, headers=AUTH
        )
        assert submitted.status_code == 201, submitted.text
        predict_id = submitted.json()["job_id"]
        assert submitted.json()["model_info"] == {"model_id": MODEL_ID, "model_version": child}
        for site in sites.values():
            wait_status(site, predict_id, "success")
        host_spec = next(
            s
            for s in sites[HOST].executor.specs
            if s.job_id == predict_id and s.component == "hetero_lr_0"
        )
        assert set(host_spec.inputs) == {"test_data", "model"}
        trained = next(
            s
            for s in sites[HOST].executor.specs
            if s.job_id == job_id and s.component == "hetero_lr_0"
        )
        given = Path(host_spec.inputs["model"].path)
        assert given.read_text() == (Path(trained.output_dir) / "model.json").read_text()
        assert str(tmp_path / str(HOST) / "models") in str(given)
        # a predict job registers no model of its own
        assert len(_models(sites[GUEST])) == 2


def test_deploy_and_predict_errors(tmp_path: Path) -> None:
    with running_sites(tmp_path, planner=fedloom_planner) as sites:
        job_id = _train(sites)["job_id"]
        unknown = _deploy(sites[GUEST], job_id, cpn_list=["reader_0", "hetero_lr_9"])
        assert unknown.status_code == 422
        assert unknown.json()["detail"][0]["path"] == "cpn_list.1"
        partial = _deploy(sites[GUEST], job_id, cpn_list=["hetero_lr_0"])
        assert partial.status_code == 422
        assert "intersection_0 is not deployed" in partial.json()["detail"][0]["msg"]
        assert _deploy(sites[GUEST], "20990101000000000000").status_code == 404
        child = _deploy(sites[GUEST], job_id).json()["model_version"]

        conf = _predict_conf(child)
        conf["role"]["host"] = [HOST, GUEST]
        moved = sites[GUEST].client.post("/api/v1/jobs", json={"conf": conf}, headers=AUTH)
        assert moved.status_code == 422
        assert moved.json()["detail"][0]["path"] == "conf.role"
        with_dsl = sites[GUEST].client.post(
            "/api/v1/jobs",
            json={"dsl": sample_job()["dsl"], "conf": _predict_conf(child)},
            headers=AUTH,
        )
        assert with_dsl.status_code == 422
        assert with_dsl.json()["detail"][0]["path"] == "dsl"
        fate_style = _predict_conf(child)  # fate_test's predict confs name no job_type
        del fate_style["job_parameters"]["common"]["job_type"]
        accepted = sites[GUEST].client.post("/api/v1/jobs", json={"conf": fate_style}, headers=AUTH)
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["model_info"]["model_version"] == child
        for site in sites.values():
            wait_status(site, accepted.json()["job_id"], "success")
        missing = _predict_conf(child)
        del missing["job_parameters"]["common"]["model_version"]
        refused = sites[GUEST].client.post("/api/v1/jobs", json={"conf": missing}, headers=AUTH)
        assert refused.status_code == 422
        assert "conf.job_parameters.common.model_version" in json.dumps(refused.json())


def test_export_import_and_csv_download(tmp_path: Path) -> None:
    with running_sites(tmp_path, planner=fedloom_planner) as sites:
        job_id = _train(sites)["job_id"]
        exported = sites[HOST].client.get(
            "/api/v1/models/export",
            params={"model_id": MODEL_ID, "model_version": job_id},
            headers=AUTH,
        )
        assert exported.status_code == 200
        assert exported.headers["content-type"] == "application/zip"
        data = exported.content

        csv = sites[GUEST].client.get(
            f"/api/v1/jobs/{job_id}/components/hetero_lr_0/output/data/download", headers=AUTH
        )
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        lines = csv.text.splitlines()
        assert lines[0] == "id,label,x0,x1" and len(lines) == 6
        assert lines[1] == "id0,0,0,1"

    with running_sites(tmp_path / "elsewhere", parties=(HOST,)) as fresh:
        site = fresh[HOST]

        def send(payload: bytes) -> Any:
            files = {"file": ("model.zip", payload, "application/zip")}
            return site.client.post("/api/v1/models/import", files=files, headers=AUTH)

        imported = send(data)
        assert imported.status_code == 201, imported.text
        assert imported.json()["kind"] == "imported"
        assert imported.json()["local_parts"]["hetero_lr_0"] == ["host"]
        assert send(data).status_code == 409
        assert send(b"not a zip").status_code == 422
        assert "manifest" in send(_rewrite(data, component="../evil")).json()["detail"]


def _rewrite(data: bytes, component: str) -> bytes:
    """``data`` with its manifest's first component renamed to ``component``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(source.read("manifest.json"))
    first = next(iter(manifest["files"]))
    manifest["files"][component] = manifest["files"].pop(first)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            if info.filename != "manifest.json":
                out.writestr(info, source.read(info))
        out.writestr("manifest.json", json.dumps(manifest))
    return buffer.getvalue()
