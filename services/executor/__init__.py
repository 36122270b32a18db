"""The executor: runs this party's tasks (one component, one role) in child processes.

See ``docs/platform.md`` (Executor) for the contract with the flow.
"""

from services.executor.embedded import EmbeddedExecutor
from services.executor.events import CallbackEventSink, EventSink, HttpEventSink
from services.executor.queue import InMemoryTaskQueue, QueueClosed, RedisTaskQueue, TaskQueue
from services.executor.settings import ExecutorSettings
from services.executor.worker import Executor

__all__ = [
    "CallbackEventSink",
    "EmbeddedExecutor",
    "EventSink",
    "Executor",
    "ExecutorSettings",
    "HttpEventSink",
    "InMemoryTaskQueue",
    "QueueClosed",
    "RedisTaskQueue",
    "TaskQueue",
]
