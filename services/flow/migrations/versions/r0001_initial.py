"""Initial schema: jobs, tasks, tables, task_logs.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table of the flow."""
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("initiator", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.JSON(), nullable=False),
        sa.Column("dsl", sa.JSON(), nullable=False),
        sa.Column("conf", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("started_at", _ts, nullable=True),
        sa.Column("ended_at", _ts, nullable=True),
    )
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String(255), primary_key=True),
        sa.Column(
            "job_id",
            sa.String(64),
            sa.ForeignKey("jobs.job_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("component", sa.String(128), nullable=False),
        sa.Column("component_index", sa.Integer(), nullable=False),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("role_index", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("queued_at", _ts, nullable=True),
        sa.Column("started_at", _ts, nullable=True),
        sa.Column("ended_at", _ts, nullable=True),
        sa.Column("last_seen", _ts, nullable=True),
        sa.Column("outputs", sa.JSON(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.UniqueConstraint("job_id", "component", "role", "party_id", name="uq_tasks_job_comp"),
    )
    op.create_index("ix_tasks_job_id", "tasks", ["job_id"])
    op.create_table(
        "tables",
        sa.Column("namespace", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("columns", sa.Integer(), nullable=False),
        sa.Column("header", sa.JSON(), nullable=False),
        sa.Column("id_column", sa.String(256), nullable=False),
        sa.Column("label_column", sa.String(256), nullable=True),
        sa.Column("created_at", _ts, nullable=False),
    )
    op.create_table(
        "task_logs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(255), nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
    )
    op.create_index("ix_task_logs_job_id_id", "task_logs", ["job_id", "id"])


def downgrade() -> None:
    """Drop every table of the flow."""
    op.drop_index("ix_task_logs_job_id_id", table_name="task_logs")
    op.drop_table("task_logs")
    op.drop_table("tables")
    op.drop_index("ix_tasks_job_id", table_name="tasks")
    op.drop_table("tasks")
    op.drop_index("ix_jobs_status", table_name="jobs")
    op.drop_table("jobs")
