"""Job submission checks at the initiator, and the internal control endpoint's refusals."""

from __future__ import annotations

from collections.abc import Iterator
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
    InProcessChannel,
    Site,
    running_sites,
    sample_job,
    upload,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def channel() -> InProcessChannel:
    return InProcessChannel()


@pytest.fixture
def sites(tmp_path: Path, channel: InProcessChannel) -> Iterator[dict[int, Site]]:
    with running_sites(tmp_path, channel=channel) as sites:
        assert upload(sites[GUEST], "exp", "guest", GUEST_CSV, label_column="y").status_code == 201
        assert upload(sites[HOST], "exp", "host", HOST_CSV).status_code == 201
        yield sites


def _submit(site: Site, body: Any) -> Any:
    return site.client.post("/api/v1/jobs", json=body, headers=AUTH)


def _paths(response: Any) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in response.json()["detail"]]


@pytest.mark.parametrize(
    "body",
    [{"dsl": {}}, {"dsl": [], "conf": {}}, {"dsl": {}, "conf": {}, "extra": 1}, "not json"],
)
def test_malformed_body_is_422(sites: dict[int, Site], body: Any) -> None:
    response = _submit(sites[GUEST], body)
    assert response.status_code == 422
    assert all(p.startswith("body") for p in _paths(response))


def test_unknown_module_names_path(sites: dict[int, Site]) -> None:
    job = sample_job()
    job["dsl"]["components"]["intersection_0"]["module"] = "Intersektion"
    response = _submit(sites[GUEST], job)
    assert response.status_code == 422
    assert "dsl.components.intersection_0.module" in _paths(response)
    assert "Intersektion" in response.text


def test_unknown_parameter_names_path(sites: dict[int, Site]) -> None:
    job = sample_job()
    job["conf"]["component_parameters"]["common"]["hetero_lr_0"]["alpah"] = 0.1
    response = _submit(sites[GUEST], job)
    assert response.status_code == 422
    assert _paths(response) == ["conf.component_parameters.common.hetero_lr_0.alpah"]
    assert response.json()["detail"][0]["path"] == (
        "conf.component_parameters.common.hetero_lr_0.alpah"
    )


def test_unknown_party_is_422(sites: dict[int, Site]) -> None:
    job = sample_job()
    job["conf"]["role"]["host"] = [HOST, 12345]
    response = _submit(sites[GUEST], job)
    assert response.status_code == 422
    assert _paths(response) == ["conf.role.host.1"]
    assert "party 12345 is not in the routes" in response.text


def test_initiator_must_be_this_party(sites: dict[int, Site]) -> None:
    response = _submit(sites[HOST], sample_job())
    assert response.status_code == 422
    assert "conf.initiator.party_id" in _paths(response)


def test_missing_local_table_is_422(sites: dict[int, Site]) -> None:
    job = sample_job()
    job["conf"]["component_parameters"]["role"]["guest"]["0"]["reader_0"]["table"]["name"] = "nope"
    response = _submit(sites[GUEST], job)
    assert response.status_code == 422
    assert "table exp/nope not found at party 9999" in response.text
    assert _paths(response) == ["conf.component_parameters.role.guest.0.reader_0.table"]
    assert sites[GUEST].client.get("/api/v1/jobs", headers=AUTH).json() == []


def test_party_refusing_the_job_is_409_and_job_failed(sites: dict[int, Site]) -> None:
    assert sites[HOST].client.delete("/api/v1/tables/exp/host", headers=AUTH).status_code == 204
    response = _submit(sites[GUEST], sample_job())
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail["party_id"] == HOST
    assert "party 10000 refused the job" in detail["message"]
    assert "table exp/host not found at party 10000" in detail["message"]
    job = sites[GUEST].client.get(f"/api/v1/jobs/{detail['job_id']}", headers=AUTH).json()
    assert job["status"] == "failed" and "10000" in job["error"]
    # the host created nothing; a party that had accepted is told the job failed
    assert sites[HOST].client.get("/api/v1/jobs", headers=AUTH).json() == []


def test_unreachable_party_is_502_and_job_failed(
    sites: dict[int, Site], channel: InProcessChannel
) -> None:
    channel.down.add(ARBITER)
    response = _submit(sites[GUEST], sample_job())
    assert response.status_code == 502
    detail = response.json()["detail"]
    assert detail["party_id"] == ARBITER and "party 10001 unreachable" in detail["message"]
    job_id = detail["job_id"]
    assert sites[GUEST].client.get(f"/api/v1/jobs/{job_id}", headers=AUTH).json()["status"] == (
        "failed"
    )
    host_job = sites[HOST].client.get(f"/api/v1/jobs/{job_id}", headers=AUTH).json()
    assert host_job["status"] == "failed"


def _control(site: Site, **request: Any) -> dict[str, Any]:
    body = {"src_party_id": GUEST, "dst_party_id": site.party_id, "job_id": "", "body": {}}
    body.update(request)
    response = site.client.post("/internal/v1/control", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_control_ping_and_refusals(sites: dict[int, Site]) -> None:
    host = sites[HOST]
    assert _control(host, kind="ping") == {"ok": True, "body": {"party_id": HOST}, "error": ""}
    stranger = _control(host, kind="ping", src_party_id=4242)
    assert not stranger["ok"] and "party 4242 is not in the routes" in stranger["error"]
    wrong_dst = _control(host, kind="ping", dst_party_id=ARBITER)
    assert not wrong_dst["ok"]
    job = sample_job()
    not_initiator = _control(host, kind="create_job", job_id="j1", src_party_id=ARBITER, body=job)
    assert not not_initiator["ok"] and "not the job's initiator" in not_initiator["error"]
    invalid = dict(job, conf={**job["conf"], "role": "x"})
    bad = _control(host, kind="create_job", job_id="j1", body=invalid)
    assert not bad["ok"] and "conf.role" in bad["error"]
    outsider = sample_job(host=False)
    refused = _control(host, kind="create_job", job_id="j2", body=outsider)
    assert not refused["ok"] and "plays no role" in refused["error"]
    unknown = _control(host, kind="task_status", job_id="nope", body={"component": "reader_0"})
    assert not unknown["ok"] and "no job 'nope'" in unknown["error"]
    assert _control(host, kind="create_job", job_id="j3", body=job)["ok"]
    assert _control(host, kind="create_job", job_id="j3", body=job)["ok"]  # idempotent retry
    hijack = _control(host, kind="cancel_job", job_id="j3", src_party_id=ARBITER)
    assert not hijack["ok"] and "not the initiator" in hijack["error"]
    no_comp = _control(host, kind="run_task", job_id="j3", body={"component": "x"})
    assert not no_comp["ok"] and "no component 'x'" in no_comp["error"]
    assert _control(host, kind="job_status", job_id="j3")["body"] == {"status": "waiting"}


def test_task_events_only_for_local_tasks(sites: dict[int, Site]) -> None:
    client = sites[HOST].client
    event = {"task_id": "t1", "kind": "heartbeat"}
    assert client.post("/internal/v1/tasks/t1/events", json=event, headers=AUTH).status_code == 404
    mismatch = client.post("/internal/v1/tasks/t2/events", json=event, headers=AUTH)
    assert mismatch.status_code == 422
    bad_kind = {"task_id": "t1", "kind": "exploded"}
    assert (
        client.post("/internal/v1/tasks/t1/events", json=bad_kind, headers=AUTH).status_code == 422
    )


def test_unknown_job_routes_are_404(sites: dict[int, Site]) -> None:
    client = sites[GUEST].client
    for path in ("/api/v1/jobs/x", "/api/v1/jobs/x/logs", "/api/v1/jobs/x/components/c/metrics"):
        assert client.get(path, headers=AUTH).status_code == 404
    assert client.post("/api/v1/jobs/x/cancel", headers=AUTH).status_code == 404
    assert client.get("/api/v1/jobs?status=bogus", headers=AUTH).status_code == 422
