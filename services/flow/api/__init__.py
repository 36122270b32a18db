"""REST routers of the flow: public ``/api/v1`` and internal ``/internal/v1``."""
