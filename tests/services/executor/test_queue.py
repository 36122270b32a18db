"""The TaskQueue contract, run against InMemoryTaskQueue and RedisTaskQueue.

Redis runs as a real redis-server (the ``redis_url`` fixture of ``tests/conftest.py``).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from executor_helpers import make_spec

from services.common.contracts import TaskSpec
from services.executor.queue import (
    InMemoryTaskQueue,
    QueueClosed,
    RedisTaskQueue,
    TaskQueue,
)

QueueFactory = Callable[..., TaskQueue]
"""``factory(cancel_ttl_s=...)``: a queue; every queue it makes shares one backend."""


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.unit),
        pytest.param("redis", marks=pytest.mark.integration),
    ]
)
def make_queue(request: pytest.FixtureRequest) -> Iterator[QueueFactory]:
    made: list[TaskQueue] = []
    if request.param == "memory":
        shared: dict[float, InMemoryTaskQueue] = {}

        def factory(cancel_ttl_s: float = 3600.0) -> TaskQueue:
            if cancel_ttl_s not in shared:
                shared[cancel_ttl_s] = InMemoryTaskQueue(cancel_ttl_s=cancel_ttl_s)
                made.append(shared[cancel_ttl_s])
            return shared[cancel_ttl_s]

    else:
        url = request.getfixturevalue("redis_url")
        party_id = random.randrange(10**6, 10**9)  # a fresh key space per test

        def factory(cancel_ttl_s: float = 3600.0) -> TaskQueue:
            queue = RedisTaskQueue(url, party_id, cancel_ttl_s=cancel_ttl_s)
            made.append(queue)
            return queue

    yield factory
    for queue in made:
        queue.close()


def test_put_then_get_returns_an_equal_spec(make_queue: QueueFactory) -> None:
    queue = make_queue()
    spec = make_spec(inputs={"train_data": {"kind": "data", "path": "/d/t.npz", "meta": {"n": 1}}})
    queue.put(spec)
    assert queue.get(timeout=2) == spec


def test_fifo_order(make_queue: QueueFactory) -> None:
    queue = make_queue()
    specs = [make_spec(task_id=f"t{i}") for i in range(5)]
    for spec in specs:
        queue.put(spec)
    assert [queue.get(timeout=2) for _ in specs] == specs
    assert queue.get(timeout=0) is None


def test_get_on_empty_waits_for_the_timeout(make_queue: QueueFactory) -> None:
    queue = make_queue()
    start = time.monotonic()
    assert queue.get(timeout=0.3) is None
    assert 0.25 <= time.monotonic() - start < 2.0
    start = time.monotonic()
    assert queue.get(timeout=0) is None
    assert time.monotonic() - start < 0.5


def test_get_wakes_up_when_a_task_is_put(make_queue: QueueFactory) -> None:
    consumer, producer = make_queue(), make_queue()
    spec = make_spec()
    timer = threading.Timer(0.2, producer.put, args=(spec,))
    timer.start()
    start = time.monotonic()
    try:
        assert consumer.get(timeout=5) == spec
        assert time.monotonic() - start < 3.0
    finally:
        timer.cancel()
        timer.join(5)


def test_each_task_is_taken_exactly_once_by_concurrent_consumers(
    make_queue: QueueFactory,
) -> None:
    producer = make_queue()
    specs = [make_spec(task_id=f"t{i:02d}") for i in range(40)]
    for spec in specs:
        producer.put(spec)
    taken: list[TaskSpec] = []
    lock = threading.Lock()

    def consume(queue: TaskQueue) -> None:
        while (spec := queue.get(timeout=0.3)) is not None:
            with lock:
                taken.append(spec)

    threads = [threading.Thread(target=consume, args=(make_queue(),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(t.is_alive() for t in threads)
    assert sorted(s.task_id for s in taken) == [s.task_id for s in specs]


def test_cancel_marks_known_and_unknown_tasks(make_queue: QueueFactory) -> None:
    flow, executor = make_queue(), make_queue()
    spec = make_spec()
    assert not executor.is_canceled(spec.task_id)
    flow.put(spec)
    flow.cancel(spec.task_id)
    flow.cancel("never-queued")
    assert executor.is_canceled(spec.task_id)
    assert executor.is_canceled("never-queued")
    assert not executor.is_canceled("other")
    # A canceled task is still handed out, so that its executor reports it.
    assert executor.get(timeout=2) == spec


def test_cancel_mark_expires_after_its_ttl(make_queue: QueueFactory) -> None:
    queue = make_queue(cancel_ttl_s=0.2)
    queue.cancel("t1")
    assert queue.is_canceled("t1")
    time.sleep(0.4)
    assert not queue.is_canceled("t1")


def test_close_wakes_a_blocked_get_and_refuses_puts(make_queue: QueueFactory) -> None:
    queue = make_queue()
    got: list[TaskSpec | None] = []
    thread = threading.Thread(target=lambda: got.append(queue.get(timeout=10)))
    thread.start()
    time.sleep(0.2)
    start = time.monotonic()
    queue.close()
    thread.join(5)
    assert not thread.is_alive()
    assert got == [None]
    assert time.monotonic() - start < 3.0
    assert queue.get(timeout=1) is None
    with pytest.raises(QueueClosed):
        queue.put(make_spec())
    queue.close()  # idempotent


@pytest.mark.integration
def test_redis_layout_is_a_json_list_per_party(redis_url: str) -> None:
    """The flow may enqueue with any Redis client: RPUSH of TaskSpec JSON to the party's list."""
    party_id = random.randrange(10**6, 10**9)
    queue = RedisTaskQueue(redis_url, party_id)
    client = redis.Redis.from_url(redis_url)
    try:
        spec = make_spec()
        client.rpush(f"fedloom:{party_id}:tasks", b"not json", spec.model_dump_json())
        assert queue.get(timeout=2) == spec  # the malformed item is logged and skipped
        queue.cancel(spec.task_id)
        ttl = client.pttl(f"fedloom:{party_id}:canceled:{spec.task_id}")
        assert isinstance(ttl, int) and ttl > 0
    finally:
        client.close()
        queue.close()
