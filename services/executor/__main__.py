"""``python -m services.executor``: a standalone executor consuming its party's Redis queue.

Settings come from the environment (see :class:`ExecutorSettings`); ``REDIS_URL`` is required.
Events go to ``FEDLOOM_FLOW_URL`` with ``FEDLOOM_TOKEN``. SIGTERM or SIGINT stops it: running
tasks get ``FEDLOOM_DRAIN_S`` seconds to finish before they are stopped.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from pydantic import ValidationError

from services.executor.events import HttpEventSink
from services.executor.queue import RedisTaskQueue
from services.executor.settings import ExecutorSettings
from services.executor.worker import Executor

log = logging.getLogger("fedloom.executor")

NO_REDIS = (
    "REDIS_URL is not set: a standalone executor takes its party's tasks from the Redis queue "
    "(e.g. REDIS_URL=redis://127.0.0.1:6379/0). Without Redis the flow runs tasks itself."
)


def main(argv: list[str] | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status (2: bad settings)."""
    if argv:
        print("usage: python -m services.executor  (configured by environment)", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = ExecutorSettings()  # type: ignore[call-arg]  # fields come from the env
    except ValidationError as exc:
        print(f"fedloom executor: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    if not settings.redis_url:
        print(f"fedloom executor: {NO_REDIS}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    queue = RedisTaskQueue(settings.redis_url, settings.party_id)
    sink = HttpEventSink(settings.flow_url, settings.token)
    executor = Executor(queue, settings, sink)
    executor.start()
    log.info(
        "executor of party %s: %d slot(s) on %s, events to %s",
        settings.party_id,
        settings.executor_slots,
        queue.tasks_key,
        settings.flow_url,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        executor.stop(settings.drain_s)
        sink.close()
        queue.close()
    log.info("executor stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
