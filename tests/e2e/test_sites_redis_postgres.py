"""The same job with the production backends: Redis mailboxes and task queues, PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import clients, example_job, start_sites, stop_sites, upload_breast

from pg_fixture import running_postgres

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_job_runs_over_redis_and_postgresql(redis_url: str, tmp_path: Path) -> None:
    with running_postgres() as pg:
        databases = {party: pg.create_database() for party in (9999, 10000, 10001)}
        sites = start_sites(tmp_path / "sites", redis_url=redis_url, database_urls=databases)
        try:
            assert all(any(n.startswith("executor") for n in s.processes) for s in sites)
            by_party = clients(sites)
            upload_breast(by_party, tmp_path / "data")
            dsl, conf = example_job(max_iter=3)
            job_id = by_party[9999].submit(dsl, conf)
            job = by_party[9999].wait(job_id, timeout=240)
            assert job["status"] == "success", job
            assert by_party[10001].job(job_id)["status"] == "success"
        finally:
            stop_sites(sites)
