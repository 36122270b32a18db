"""Upload options of a table: the ``meta`` column of ``tables`` (format and FATE upload options).

Revision ID: table_upload_options
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "table_upload_options"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``tables.meta`` (NULL for tables uploaded before: dense, FATE defaults)."""
    with op.batch_alter_table("tables") as batch:
        batch.add_column(sa.Column("meta", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop ``tables.meta``."""
    with op.batch_alter_table("tables") as batch:
        batch.drop_column("meta")
