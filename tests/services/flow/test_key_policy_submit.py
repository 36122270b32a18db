"""A job asking for a key shorter than a site's policy is refused at submission, naming the
field and the policy: by the initiator itself, or by the party whose policy it breaks."""

from __future__ import annotations

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
    running_sites,
    sample_job,
    upload,
)

from services.flow.planning import fedloom_planner
from services.site import SiteConfig

pytestmark = pytest.mark.integration

FIELD = "conf.component_parameters.common.hetero_lr_0.encrypt_param.key_length"


def _submit(tmp_path: Path, minimum: dict[int, int], job: dict[str, Any]) -> Any:
    def settings(party: int) -> dict[str, Any]:
        return {"min_key_length": minimum[party]} if party in minimum else {}

    with running_sites(tmp_path, planner=fedloom_planner, settings=settings) as sites:
        upload(sites[GUEST], "exp", "guest", GUEST_CSV)
        upload(sites[HOST], "exp", "host", HOST_CSV)
        response = sites[GUEST].client.post("/api/v1/jobs", json=job, headers=AUTH)
        listed = sites[HOST].client.get("/api/v1/jobs", headers=AUTH).json()
        return response, listed


def test_the_initiators_policy(tmp_path: Path) -> None:
    response, listed = _submit(tmp_path, {GUEST: 3072}, sample_job())
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["path"] == FIELD
    assert "2048 is below the 3072-bit minimum of party 9999" in error["msg"]
    assert listed == []


def test_a_peers_policy_names_the_role_entry(tmp_path: Path) -> None:
    job = sample_job()
    by_role = job["conf"]["component_parameters"]["role"]
    by_role["host"]["0"]["hetero_lr_0"] = {"encrypt_param": {"key_length": 3072}}
    by_role["guest"]["0"]["hetero_lr_0"] = {"encrypt_param": {"key_length": 3072}}
    job["conf"]["component_parameters"]["role"]["arbiter"] = {
        "0": {"hetero_lr_0": {"encrypt_param": {"key_length": 3072}}}
    }
    response, listed = _submit(tmp_path, {HOST: 4096}, job)
    assert response.status_code == 422, response.text
    paths = {e["path"] for e in response.json()["detail"]}
    assert "conf.component_parameters.role.host.0.hetero_lr_0.encrypt_param.key_length" in paths
    assert all("party 10000 refuses" in e["msg"] for e in response.json()["detail"])
    assert listed == []


def test_a_1024_bit_dh_group_is_the_sites_decision(tmp_path: Path) -> None:
    job = sample_job()
    job["conf"]["component_parameters"]["common"]["intersection_0"] = {
        "intersect_method": "dh",
        "dh_params": {"key_length": 1024},
    }
    response, _ = _submit(tmp_path / "default", {}, job)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["path"] == "conf.component_parameters.common.intersection_0.dh_params.key_length"
    assert "below the 2048-bit minimum of party 9999" in error["msg"]
    lowered, _ = _submit(tmp_path / "lowered", {GUEST: 1024, HOST: 1024, ARBITER: 1024}, job)
    assert lowered.status_code == 201, lowered.text
    by_role = job["conf"]["component_parameters"]["role"]
    for role in ("guest", "host"):
        key = "0|0" if role == "host" else "all"
        by_role[role][key] = {"intersection_0": {"dh_params": {"key_length": 1024}}}
    job["conf"]["component_parameters"]["common"]["intersection_0"] = {"intersect_method": "dh"}
    per_role, _ = _submit(tmp_path / "per_role", {}, job)
    assert per_role.status_code == 422, per_role.text
    assert {e["path"] for e in per_role.json()["detail"]} == {
        "conf.component_parameters.role.guest.all.intersection_0.dh_params.key_length",
        "conf.component_parameters.role.host.0|0.intersection_0.dh_params.key_length",
    }


@pytest.mark.unit
def test_local_sites_leave_the_policy_to_their_environment(tmp_path: Path) -> None:
    config = SiteConfig(party_id=1, token="t" * 16, proxy_port=1, flow_port=2, data_dir=tmp_path)
    assert "FEDLOOM_MIN_KEY_LENGTH" not in config.environment()
    pinned = config.model_copy(update={"min_key_length": 3072})
    assert pinned.environment()["FEDLOOM_MIN_KEY_LENGTH"] == "3072"
