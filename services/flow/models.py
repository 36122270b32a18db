"""The flow's SQL schema (SQLAlchemy 2 typed ORM); migrations live in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Timestamp = DateTime(timezone=True)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored timestamp as aware UTC (SQLite hands them back naive)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text of a stored timestamp, or None."""
    aware = as_utc(value)
    return aware.isoformat() if aware else None


class Base(DeclarativeBase):
    """Declarative base of the flow's tables."""


class Job(Base):
    """A job this party takes part in (as initiator or not)."""

    __tablename__ = "jobs"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    initiator: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[dict[str, Any]] = mapped_column(JSON)
    dsl: Mapped[dict[str, Any]] = mapped_column(JSON)
    conf: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Task(Base):
    """One task of a job: this party's own, or (at the initiator) another party's."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("job_id", "component", "role", "party_id", name="uq_tasks_job_comp"),
    )

    task_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.job_id", ondelete="CASCADE"), index=True)
    component: Mapped[str] = mapped_column(String(128))
    component_index: Mapped[int] = mapped_column(Integer)
    module: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    role_index: Mapped[int] = mapped_column(Integer)
    party_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    queued_at: Mapped[datetime | None] = mapped_column(Timestamp)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_seen: Mapped[datetime | None] = mapped_column(Timestamp)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DataTable(Base):
    """An uploaded table: a normalised CSV under ``data_dir/tables`` plus its metadata;
    ``meta`` is the upload meta (table format and upload options; None before migration
    ``table_upload_options``: a dense table)."""

    __tablename__ = "tables"

    namespace: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[int] = mapped_column(Integer)
    header: Mapped[list[str]] = mapped_column(JSON)
    id_column: Mapped[str] = mapped_column(String(256))
    label_column: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class TaskLog(Base):
    """A log entry of a job: a task's lines (``task_id`` set) or the scheduler's (empty)."""

    __tablename__ = "task_logs"
    __table_args__ = (Index("ix_task_logs_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    message: Mapped[str] = mapped_column(Text)


class Model(Base):
    """This party's part of a model: one trained by a job, deployed from one, or imported.

    ``artifacts`` maps component → role → model file (relative to the flow's models
    directory); a deployed child shares its parent's files and adds the ``inference_dsl``.
    """

    __tablename__ = "models"

    model_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str] = mapped_column(String(64), index=True)
    parent_version: Mapped[str | None] = mapped_column(String(64))
    roles: Mapped[dict[str, Any]] = mapped_column(JSON)
    train_dsl: Mapped[dict[str, Any]] = mapped_column(JSON)
    train_conf: Mapped[dict[str, Any]] = mapped_column(JSON)
    inference_dsl: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    modules: Mapped[dict[str, Any]] = mapped_column(JSON)
    artifacts: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
