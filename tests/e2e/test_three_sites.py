"""Three real sites on loopback: a FATE job end to end, bad input, cancel, a restarted site."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import (
    clients,
    component_status,
    example_job,
    start_sites,
    stop_sites,
    upload_breast,
    wait_for,
)

from services.cli.client import FlowClient, FlowError
from services.site import Site

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Site]]:
    base = tmp_path_factory.mktemp("sites")
    running = start_sites(base)
    upload_breast(clients(running), base / "data")
    yield running
    stop_sites(running)


@pytest.fixture(scope="module")
def by_party(sites: list[Site]) -> dict[int, FlowClient]:
    return clients(sites)


def test_fate_job_runs_to_success_at_every_party(by_party: dict[int, FlowClient]) -> None:
    dsl, conf = example_job(max_iter=5)
    job_id = by_party[9999].submit(dsl, conf)
    job = by_party[9999].wait(job_id, timeout=240)
    assert job["status"] == "success", job
    for view in job["components"]:
        assert view["status"] == "success", view
    lr_tasks = {
        (t["role"], t["party_id"])
        for c in job["components"]
        for t in c["tasks"]
        if c["component"] == "hetero_lr_0"
    }
    assert lr_tasks == {("guest", 9999), ("host", 10000), ("arbiter", 10001)}
    for party in (10000, 10001):
        assert by_party[party].job(job_id)["status"] == "success"

    metrics = by_party[9999].metrics(job_id, "evaluation_0")
    auc = _find(metrics, "auc")
    assert auc is not None and auc > 0.95, metrics
    page = by_party[9999]._call(
        "GET",
        f"/api/v1/jobs/{job_id}/components/hetero_lr_0/output/data",
        params={"offset": 0, "limit": 5},
    )
    assert len(page["rows"]) == 5
    model = by_party[10000]._call(
        "GET", f"/api/v1/jobs/{job_id}/components/hetero_lr_0/output/model"
    )
    assert set(model["model_param"]["weight"]) == set(model["model_param"]["header"])
    logs = by_party[9999]._call("GET", f"/api/v1/jobs/{job_id}/logs")
    assert logs, "the guest's tasks logged nothing"


def test_okamoto_uchiyama_job_trains_through_the_services(by_party: dict[int, FlowClient]) -> None:
    dsl, conf = example_job(max_iter=5)
    lr = conf["component_parameters"]["common"]["hetero_lr_0"]
    lr["encrypt_param"] = {"method": "OU", "key_length": 2048}
    job_id = by_party[9999].submit(dsl, conf)
    job = by_party[9999].wait(job_id, timeout=240)
    assert job["status"] == "success", job
    auc = _find(by_party[9999].metrics(job_id, "evaluation_0"), "auc")
    assert auc is not None and auc > 0.95


def _find(document: Any, key: str) -> float | None:
    if isinstance(document, dict):
        if isinstance(document.get(key), int | float):
            return float(document[key])
        for value in document.values():
            found = _find(value, key)
            if found is not None:
                return found
    return None


def _bad_jobs() -> list[tuple[str, Any, str]]:
    cases: list[tuple[str, Any, str]] = []
    dsl, conf = example_job()
    cases.append(("malformed", lambda d, c: d.pop("components"), "components"))
    cases.append(
        (
            "unknown module",
            lambda d, c: d["components"]["hetero_lr_0"].update(module="HeteroLRX"),
            "dsl.components.hetero_lr_0.module",
        )
    )
    cases.append(
        (
            "unknown parameter",
            lambda d, c: c["component_parameters"]["common"]["hetero_lr_0"].update(alpah=0.1),
            "hetero_lr_0.alpah",
        )
    )
    cases.append(("party without a route", lambda d, c: c["role"].update(host=[12345]), "12345"))
    cases.append(
        (
            "missing table",
            lambda d, c: c["component_parameters"]["role"]["guest"]["0"]["reader_0"].update(
                table={"name": "nope", "namespace": "experiment"}
            ),
            "nope",
        )
    )
    del dsl, conf
    return cases


@pytest.mark.parametrize(("case", "mutate", "named"), _bad_jobs(), ids=lambda v: str(v)[:24])
def test_bad_jobs_are_refused_naming_the_field(
    by_party: dict[int, FlowClient], case: str, mutate: Any, named: str
) -> None:
    dsl, conf = example_job()
    mutate(dsl, conf)
    with pytest.raises(FlowError) as caught:
        by_party[9999].submit(dsl, conf)
    assert caught.value.status == 422, (case, caught.value)
    assert named in str(caught.value.detail), (case, caught.value.detail)


def test_csv_with_a_bad_cell_names_line_and_column(
    by_party: dict[int, FlowClient], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,y,x0,x1\na,1,0.5,1\nb,0,oops,2\n")
    with pytest.raises(FlowError) as caught:
        by_party[9999].upload_table("experiment", "bad", bad, "y")
    assert caught.value.status == 422
    assert "line 3" in str(caught.value.detail) and "x0" in str(caught.value.detail)


def test_requests_without_the_token_are_refused(sites: list[Site]) -> None:
    url = sites[0].config.flow_url
    assert httpx.get(f"{url}/api/v1/jobs", timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token-at-all"}
    assert httpx.get(f"{url}/api/v1/jobs", headers=wrong, timeout=10).status_code == 401
    assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200


def test_cancel_stops_the_job_at_every_party_within_5s(by_party: dict[int, FlowClient]) -> None:
    dsl, conf = example_job(max_iter=300)
    job_id = by_party[9999].submit(dsl, conf)
    wait_for(
        lambda: component_status(by_party[9999].job(job_id), "hetero_lr_0") == "running",
        timeout=120,
        what="hetero_lr_0 running",
    )
    time.sleep(1.0)
    by_party[9999].cancel(job_id)
    started = time.monotonic()

    def stopped_everywhere() -> bool:
        for client in by_party.values():
            job = client.job(job_id)
            if job["status"] != "canceled":
                return False
            if any(t["status"] == "running" for c in job["components"] for t in c["tasks"]):
                return False
        return True

    wait_for(stopped_everywhere, timeout=5.0, what="cancel at every party")
    assert time.monotonic() - started <= 5.0


def test_a_site_restarted_mid_job_ends_the_job_cleanly(tmp_path: Path) -> None:
    running = start_sites(tmp_path / "sites")
    try:
        by_party = clients(running)
        upload_breast(by_party, tmp_path / "data")
        dsl, conf = example_job(max_iter=300)
        job_id = by_party[9999].submit(dsl, conf)
        wait_for(
            lambda: component_status(by_party[9999].job(job_id), "hetero_lr_0") == "running",
            timeout=120,
            what="hetero_lr_0 running",
        )
        host = running[1]
        host.stop()
        host.start(timeout=90)
        by_party[10000] = FlowClient(host.config.flow_url, host.config.token)
        job = by_party[9999].wait(job_id, timeout=150)
        assert job["status"] in ("failed", "success")
        if job["status"] == "failed":
            assert job["error"], "a failed job must say why"
    finally:
        stop_sites(running)
