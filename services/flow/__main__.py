"""``python -m services.flow``: run this party's flow with settings from the environment."""

from __future__ import annotations

import logging

import uvicorn

from services.flow.app import create_app
from services.flow.settings import FlowSettings, split_listen


def main() -> None:
    """Serve the flow's REST API on ``FEDLOOM_FLOW_LISTEN``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = FlowSettings()  # type: ignore[call-arg]  # required fields come from the env
    host, port = split_listen(settings.flow_listen)
    uvicorn.run(create_app(settings), host=host, port=port)


if __name__ == "__main__":
    main()
