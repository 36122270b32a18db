"""Alembic migrations of the flow database (``alembic -c services/flow/alembic.ini ...``)."""
