"""Alembic revisions of the flow database."""
