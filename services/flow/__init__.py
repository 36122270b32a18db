"""The flow service: REST API for jobs and tables, the job scheduler and the SQL job store.

Entry points: :func:`services.flow.app.create_app` and ``python -m services.flow``.
"""
