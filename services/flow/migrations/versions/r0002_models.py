"""The model registry: this party's parts of trained, deployed and imported models.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the ``models`` table."""
    op.create_table(
        "models",
        sa.Column("model_id", sa.String(512), primary_key=True),
        sa.Column("model_version", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("parent_version", sa.String(64), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("train_dsl", sa.JSON(), nullable=False),
        sa.Column("train_conf", sa.JSON(), nullable=False),
        sa.Column("inference_dsl", sa.JSON(), nullable=True),
        sa.Column("modules", sa.JSON(), nullable=False),
        sa.Column("artifacts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_models_job_id", "models", ["job_id"])


def downgrade() -> None:
    """Drop the ``models`` table."""
    op.drop_index("ix_models_job_id", table_name="models")
    op.drop_table("models")
