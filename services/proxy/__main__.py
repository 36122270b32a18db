"""``python -m services.proxy``: run this site's proxy until SIGTERM or SIGINT.

Settings come from ``FEDLOOM_*`` variables (see :class:`services.proxy.settings.ProxySettings`);
logs go to stderr (level from ``FEDLOOM_LOG_LEVEL``, default INFO).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

from pydantic import ValidationError

from services.proxy.server import start_proxy
from services.proxy.settings import ProxySettings


def main() -> int:
    """Start the proxy, wait for a stop signal, stop gracefully; the exit status."""
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("FEDLOOM_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    log = logging.getLogger("fedloom.proxy")
    try:
        settings = ProxySettings()  # type: ignore[call-arg]  # fields come from the environment
    except ValidationError as exc:
        print(f"fedloom proxy: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    try:
        proxy = start_proxy(settings)
    except OSError as exc:
        print(f"fedloom proxy: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.wait(1.0):
        pass
    proxy.stop()
    log.info("proxy of party %s stopped", settings.party_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
