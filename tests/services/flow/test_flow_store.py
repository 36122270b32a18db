"""Alembic migrations and the job/table stores on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flow_dsl_fake import fake_planner
from flow_support import (
    AUTH,
    GUEST,
    GUEST_CSV,
    HOST,
    HOST_CSV,
    running_sites,
    sample_job,
    upload,
    wait_status,
)
from sqlalchemy import inspect

from pg_fixture import PgServer, running_postgres
from services.common.contracts import ArtifactRef, TaskEvent, TaskOutputs
from services.flow import db
from services.flow.jobstore import JobStore, make_task_id
from services.flow.models import Base
from services.flow.tablestore import TableStore, UploadOptions

pytestmark = pytest.mark.integration

TABLES = {"jobs", "tasks", "tables", "task_logs", "alembic_version", "models"}


@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'flow.db'}"
    server: PgServer = request.getfixturevalue("pg")
    return server.create_database()


def test_migrations_match_models_and_downgrade(db_url: str) -> None:
    db.upgrade(db_url)
    engine = db.make_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        db.upgrade(db_url)  # idempotent
        db.downgrade(db_url, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        db.upgrade(db_url)
        assert set(inspect(engine).get_table_names()) == TABLES
    finally:
        engine.dispose()


def test_job_and_table_stores(db_url: str, tmp_path: Path) -> None:
    db.upgrade(db_url)
    engine = db.make_engine(db_url)
    try:
        sessions = db.make_sessions(engine)
        jobs = JobStore(sessions)
        job = sample_job()
        plan = fake_planner(job["dsl"], job["conf"])
        jobs.create_job("j1", plan, job["dsl"], job["conf"], plan.parties)
        jobs.create_job("j2", plan, job["dsl"], job["conf"], [HOST], status="failed", error="x")
        assert [j.job_id for j in jobs.list_jobs(status="waiting")] == ["j1"]
        assert [j.job_id for j in jobs.active_jobs(initiator=GUEST)] == ["j1"]
        stored_job = jobs.get_job("j1")
        assert stored_job is not None and stored_job.dsl == job["dsl"]
        assert {t.status for t in jobs.tasks("j2")} == {"canceled"}
        assert len(jobs.tasks("j1")) == 7 and len(jobs.tasks("j1", "reader_0")) == 2

        assert jobs.set_job_status("j1", "running")
        reader = make_task_id("j1", "reader_0", "guest", GUEST)
        jobs.mark_queued([reader])
        jobs.apply_event(TaskEvent(task_id=reader, kind="started"))
        jobs.apply_event(TaskEvent(task_id=reader, kind="log", message="hello"))
        outputs = TaskOutputs(
            data={"data": ArtifactRef(kind="data", path="/x.npz")}, metrics={"auc": 0.5}
        )
        jobs.apply_event(TaskEvent(task_id=reader, kind="success", outputs=outputs))
        late = jobs.apply_event(TaskEvent(task_id=reader, kind="failed", message="late"))
        assert late is not None and late.status == "success"
        stored = jobs.get_task(reader)
        assert stored is not None and stored.metrics == {"auc": 0.5}
        assert TaskOutputs.model_validate(stored.outputs) == outputs
        assert stored.started_at is not None and stored.ended_at is not None
        assert stored.started_at <= stored.ended_at

        remote = {"role": "host", "status": "failed", "error": "bad", "ended_at": "2025-01-01"}
        jobs.apply_remote_status("j1", "reader_0", HOST, [remote, {"role": "x", "status": "?"}])
        host_task = jobs.get_task(make_task_id("j1", "reader_0", "host", HOST))
        assert host_task is not None and (host_task.status, host_task.error) == ("failed", "bad")
        ended = jobs.end_open_tasks("j1", "canceled", "stop")
        assert len(ended) == 5
        assert jobs.set_job_status("j1", "failed", "boom")
        assert not jobs.set_job_status("j1", "success")
        j1 = jobs.get_job("j1")
        assert j1 is not None and (j1.status, j1.error) == ("failed", "boom") and j1.ended_at
        jobs.add_log("j1", "flow says")
        assert [e.message for e in jobs.logs("j1")] == ["hello", "flow says"]
        assert [e.message for e in jobs.logs("j1", task_id=reader)] == ["hello"]

        tables = TableStore(sessions, tmp_path / "data")
        src = tmp_path / "up.part"
        src.write_text(GUEST_CSV)
        saved = tables.save("exp", "g", src, UploadOptions(label_column="y"))
        assert (saved.rows, saved.header) == (4, ["id", "y", "x0", "x1"])
        assert [t.name for t in tables.list()] == ["g"]
        tables.delete("exp", "g")
        assert tables.get("exp", "g") is None
    finally:
        engine.dispose()


def test_flow_on_postgresql_runs_a_job(tmp_path: Path, pg: PgServer) -> None:
    urls = {GUEST: pg.create_database(), HOST: pg.create_database()}
    with running_sites(
        tmp_path, (GUEST, HOST), settings=lambda party: {"database_url": urls[party]}
    ) as sites:
        assert upload(sites[GUEST], "exp", "guest", GUEST_CSV, label_column="y").status_code == 201
        assert upload(sites[HOST], "exp", "host", HOST_CSV).status_code == 201
        response = sites[GUEST].client.post(
            "/api/v1/jobs", json=sample_job(arbiter=False, lr=False), headers=AUTH
        )
        assert response.status_code == 201, response.text
        job_id = response.json()["job_id"]
        wait_status(sites[GUEST], job_id, "success")
        wait_status(sites[HOST], job_id, "success")
