"""Three flows in one process: scheduling, aggregation, cancel, timeout, heartbeats, restarts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
    Behaviour,
    InProcessChannel,
    Site,
    job_status,
    running_sites,
    sample_job,
    upload,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.integration


@contextmanager
def three_sites(
    tmp_path: Path,
    behaviour: dict[str, Behaviour] | None = None,
    channel: InProcessChannel | None = None,
    **settings: Any,
) -> Iterator[dict[int, Site]]:
    with running_sites(
        tmp_path, behaviour=behaviour, channel=channel, settings=lambda _: dict(settings)
    ) as sites:
        assert upload(sites[GUEST], "exp", "guest", GUEST_CSV, label_column="y").status_code == 201
        assert upload(sites[HOST], "exp", "host", HOST_CSV).status_code == 201
        yield sites


def _submit(site: Site, job: dict[str, Any]) -> str:
    response = site.client.post("/api/v1/jobs", json=job, headers=AUTH)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "waiting"
    return str(response.json()["job_id"])


def _detail(site: Site, job_id: str) -> dict[str, Any]:
    response = site.client.get(f"/api/v1/jobs/{job_id}", headers=AUTH)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def _task_statuses(site: Site, job_id: str) -> dict[tuple[str, str, int], str]:
    return {
        (c["component"], t["role"], t["party_id"]): t["status"]
        for c in _detail(site, job_id)["components"]
        for t in c["tasks"]
    }


def test_job_runs_to_success_at_every_party(tmp_path: Path) -> None:
    with three_sites(tmp_path) as sites:
        guest = sites[GUEST]
        job_id = _submit(guest, sample_job())
        wait_status(guest, job_id, "success")
        for party in (HOST, ARBITER):
            wait_status(sites[party], job_id, "success")
        detail = _detail(guest, job_id)
        assert [c["component"] for c in detail["components"]] == [
            "reader_0",
            "intersection_0",
            "hetero_lr_0",
        ]
        assert all(c["status"] == "success" for c in detail["components"])
        statuses = _task_statuses(guest, job_id)
        assert set(statuses) == {
            ("reader_0", "guest", GUEST),
            ("reader_0", "host", HOST),
            ("intersection_0", "guest", GUEST),
            ("intersection_0", "host", HOST),
            ("hetero_lr_0", "guest", GUEST),
            ("hetero_lr_0", "host", HOST),
            ("hetero_lr_0", "arbiter", ARBITER),
        }
        assert set(statuses.values()) == {"success"}
        assert detail["started_at"] and detail["ended_at"] and detail["elapsed_s"] >= 0
        assert set(_task_statuses(sites[HOST], job_id)) == {
            ("reader_0", "host", HOST),
            ("intersection_0", "host", HOST),
            ("hetero_lr_0", "host", HOST),
        }
        listed = guest.client.get("/api/v1/jobs?status=success", headers=AUTH).json()
        assert [j["job_id"] for j in listed] == [job_id]
        assert guest.client.get("/api/v1/jobs?status=running", headers=AUTH).json() == []

        # task specs: the reader got the table, downstream tasks the upstream outputs, in order
        specs = {s.component: s for s in guest.executor.specs}
        assert list(specs) == ["reader_0", "intersection_0", "hetero_lr_0"]
        table = specs["reader_0"].inputs["table"]
        assert table.kind == "table" and table.path.endswith("tables/exp/guest.csv")
        assert table.meta["id_column"] == "id" and table.meta["label_column"] == "y"
        assert specs["intersection_0"].inputs["data"].path.endswith("reader_0/guest_9999/data.npz")
        lr = specs["hetero_lr_0"]
        assert lr.inputs["train_data"].path.endswith("intersection_0/guest_9999/data.npz")
        assert lr.params == {"max_iter": 3}
        assert lr.parties == {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]}
        assert lr.flow_url == "http://127.0.0.1:9380" and lr.timeout_s == 60
        assert [s.role for s in sites[ARBITER].executor.specs] == ["arbiter"]

        # outputs, metrics, logs of this party
        base = f"/api/v1/jobs/{job_id}/components/hetero_lr_0"
        page = guest.client.get(f"{base}/output/data?offset=1&limit=2", headers=AUTH).json()
        assert page["header"] == ["id", "label", "x0", "x1"]
        assert page["rows"] == [["id1", 1.0, 2.0, 3.0], ["id2", 0.0, 4.0, 5.0]]
        assert page["total"] == 5
        model = guest.client.get(f"{base}/output/model", headers=AUTH).json()
        assert model == {"weights": [0.5, -1.0], "role": "guest"}
        metrics = guest.client.get(f"{base}/metrics", headers=AUTH).json()
        assert metrics["metrics"]["guest"]["auc"] == 0.75 and metrics["party_id"] == GUEST
        logs = guest.client.get(f"/api/v1/jobs/{job_id}/logs", headers=AUTH).json()
        messages = [e["message"] for e in logs]
        assert "hetero_lr_0 runs as guest" in messages
        assert any("job success" in m for m in messages)
        missing = guest.client.get(f"{base}/output/data?name=nope", headers=AUTH)
        assert missing.status_code == 404
        assert guest.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=AUTH).status_code == 409


def test_failed_task_fails_the_job_everywhere(tmp_path: Path) -> None:
    with three_sites(tmp_path, behaviour={"intersection_0": "fail"}) as sites:
        job_id = _submit(sites[GUEST], sample_job())
        wait_status(sites[GUEST], job_id, "failed")
        for party in (HOST, ARBITER):
            wait_status(sites[party], job_id, "failed")
        detail = _detail(sites[GUEST], job_id)
        assert "intersection_0 failed at" in detail["error"] and "boom" in detail["error"]
        statuses = _task_statuses(sites[GUEST], job_id)
        assert statuses[("reader_0", "host", HOST)] == "success"
        assert "failed" in {
            statuses[("intersection_0", r, p)] for r, p in (("guest", GUEST), ("host", HOST))
        }
        assert statuses[("hetero_lr_0", "arbiter", ARBITER)] == "canceled"
        assert not any(s.component == "hetero_lr_0" for s in sites[ARBITER].executor.specs)


def test_cancel_reaches_every_party(tmp_path: Path) -> None:
    with three_sites(tmp_path, behaviour={"hetero_lr_0": "hang"}) as sites:
        guest = sites[GUEST]
        job_id = _submit(guest, sample_job())
        wait_for(
            lambda: _task_statuses(guest, job_id)[("hetero_lr_0", "arbiter", ARBITER)] == "running",
            what="hetero_lr_0 running at the arbiter",
        )
        response = guest.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=AUTH)
        assert response.status_code == 200 and response.json()["status"] == "canceled"
        for party, site in sites.items():
            assert job_status(site, job_id) == "canceled"
            lr_tasks = [s.task_id for s in site.executor.specs if s.component == "hetero_lr_0"]
            assert lr_tasks and set(lr_tasks) <= site.executor.canceled, party
            statuses = _task_statuses(site, job_id)
            assert statuses[("hetero_lr_0", *_role_of(party))] == "canceled"
        assert set(_task_statuses(guest, job_id).values()) == {"success", "canceled"}
        again = guest.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=AUTH)
        assert again.status_code == 409
        not_initiator = sites[HOST].client.post(f"/api/v1/jobs/{job_id}/cancel", headers=AUTH)
        assert not_initiator.status_code == 409


def _role_of(party: int) -> tuple[str, int]:
    return {GUEST: ("guest", GUEST), HOST: ("host", HOST), ARBITER: ("arbiter", ARBITER)}[party]


def test_timeout_ends_the_job_at_every_party(tmp_path: Path) -> None:
    with three_sites(tmp_path, behaviour={"intersection_0": "hang"}) as sites:
        job_id = _submit(sites[GUEST], sample_job(timeout=0.5))
        wait_status(sites[GUEST], job_id, "timeout")
        assert "timeout of 0.5 s" in _detail(sites[GUEST], job_id)["error"]
        for party in (HOST, ARBITER):
            wait_status(sites[party], job_id, "timeout")
        host_tasks = _task_statuses(sites[HOST], job_id)
        assert host_tasks[("intersection_0", "host", HOST)] == "timeout"
        assert {
            s.task_id for s in sites[HOST].executor.specs if s.component == "intersection_0"
        } <= (sites[HOST].executor.canceled)


def test_silent_executor_fails_the_task(tmp_path: Path) -> None:
    with three_sites(tmp_path, behaviour={"reader_0": "silent"}, heartbeat_timeout_s=0.3) as sites:
        job_id = _submit(sites[GUEST], sample_job())
        wait_status(sites[GUEST], job_id, "failed")
        assert "no heartbeat from the executor for 0.3 s" in _detail(sites[GUEST], job_id)["error"]
        wait_status(sites[HOST], job_id, "failed")


def test_unreachable_party_fails_the_job_naming_it(tmp_path: Path) -> None:
    channel = InProcessChannel()
    with three_sites(tmp_path, behaviour={"reader_0": "hang"}, channel=channel) as sites:
        job_id = _submit(sites[GUEST], sample_job())
        wait_for(lambda: job_status(sites[HOST], job_id) == "running", what="host running")
        channel.down.add(HOST)
        wait_status(sites[GUEST], job_id, "failed")
        error = _detail(sites[GUEST], job_id)["error"]
        assert error.startswith("party 10000 unreachable for")

        def told() -> bool:
            logs = sites[GUEST].client.get(f"/api/v1/jobs/{job_id}/logs", headers=AUTH).json()
            return any("could not tell party 10000" in e["message"] for e in logs)

        wait_for(told, what="a log entry saying the host could not be told")
        wait_status(sites[ARBITER], job_id, "failed")


@contextmanager
def host_and_arbiter(
    tmp_path: Path, channel: InProcessChannel, host_behaviour: dict[str, Behaviour]
) -> Iterator[dict[int, Site]]:
    """The host and arbiter flows; the guest's flow is started (and restarted) by the test."""
    with running_sites(
        tmp_path,
        (HOST, ARBITER),
        channel=channel,
        peers=(GUEST,),
        settings=lambda party: {"behaviour": host_behaviour} if party == HOST else {},
    ) as sites:
        assert upload(sites[HOST], "exp", "host", HOST_CSV).status_code == 201
        yield sites


@contextmanager
def guest_site(
    tmp_path: Path, channel: InProcessChannel, behaviour: dict[str, Behaviour] | None = None
) -> Iterator[Site]:
    with running_sites(
        tmp_path, (GUEST,), channel=channel, peers=(HOST, ARBITER), behaviour=behaviour
    ) as sites:
        yield sites[GUEST]


def _wait_task(site: Site, job_id: str, task: tuple[str, str, int], status: str) -> None:
    what = f"{task} {status} at {site.party_id}"
    wait_for(lambda: _task_statuses(site, job_id)[task] == status, what=what)


def test_restart_fails_tasks_lost_with_the_in_process_queue(tmp_path: Path) -> None:
    channel = InProcessChannel()
    with host_and_arbiter(tmp_path, channel, {}) as others:
        with guest_site(tmp_path, channel, {"hetero_lr_0": "hang"}) as guest:
            assert upload(guest, "exp", "guest", GUEST_CSV, label_column="y").status_code == 201
            job_id = _submit(guest, sample_job())
            _wait_task(guest, job_id, ("hetero_lr_0", "guest", GUEST), "running")
        with guest_site(tmp_path, channel) as guest:
            wait_status(guest, job_id, "failed")
            assert "the flow restarted" in _detail(guest, job_id)["error"]
            assert _task_statuses(guest, job_id)[("reader_0", "guest", GUEST)] == "success"
            wait_status(others[HOST], job_id, "failed")


def test_restarted_initiator_resumes_its_jobs(tmp_path: Path) -> None:
    channel = InProcessChannel()
    with host_and_arbiter(tmp_path, channel, {"hetero_lr_0": "hang"}) as others:
        with guest_site(tmp_path, channel) as guest:
            assert upload(guest, "exp", "guest", GUEST_CSV, label_column="y").status_code == 201
            job_id = _submit(guest, sample_job())
            _wait_task(guest, job_id, ("hetero_lr_0", "host", HOST), "running")
            _wait_task(guest, job_id, ("hetero_lr_0", "guest", GUEST), "success")
        with guest_site(tmp_path, channel) as guest:
            assert job_status(guest, job_id) == "running"
            others[HOST].executor.release()
            wait_status(guest, job_id, "success")
            wait_status(others[HOST], job_id, "success")
