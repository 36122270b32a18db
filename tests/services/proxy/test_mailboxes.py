"""Both mailbox backends (in memory, Redis): FIFO per key, byte bound with backpressure, abort.

The Redis cases use the session's throwaway redis-server (``redis_url`` in tests/conftest.py)
and are skipped only when the ``redis-server`` binary is missing.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from fedloom._proto import proxy_pb2
from services.proxy.mailbox import (
    Mailbox,
    MailboxAborted,
    MailboxFull,
    MailboxKey,
    MailboxTimeout,
    MemoryMailbox,
    RedisMailbox,
)

pytestmark = pytest.mark.unit

MailboxFactory = Callable[[int], Mailbox]
PAYLOAD = 1000


def env(
    job: str = "job", tag: str = "t", payload: bytes = b"x" * PAYLOAD, seq: int = 0
) -> proxy_pb2.Envelope:
    """An envelope from guest 9999 to host 10000."""
    return proxy_pb2.Envelope(
        job_id=job,
        src=proxy_pb2.PartyRef(role="guest", party_id=9999),
        dst=proxy_pb2.PartyRef(role="host", party_id=10000),
        tag=tag,
        seq=seq,
        chunk_count=1,
        payload=payload,
    )


def key(job: str = "job", tag: str = "t") -> MailboxKey:
    return MailboxKey.of(env(job, tag))


SIZE = env().ByteSize()  # what one envelope counts against the bound (Redis: serialized size)


@pytest.fixture(params=["memory", "redis"])
def make_mailbox(request: pytest.FixtureRequest) -> Iterator[MailboxFactory]:
    """Mailboxes of one backend, closed after the test."""
    made: list[Mailbox] = []
    if request.param == "memory":

        def factory(max_bytes: int) -> Mailbox:
            made.append(MemoryMailbox(max_bytes))
            return made[-1]

    else:
        url: str = request.getfixturevalue("redis_url")
        namespace = f"test-{uuid.uuid4().hex[:8]}"

        def factory(max_bytes: int) -> Mailbox:
            made.append(RedisMailbox(url, 10000, max_bytes, namespace=namespace))
            return made[-1]

    yield factory
    for mailbox in made:
        mailbox.close()


def held(mailbox: Mailbox) -> int:
    assert isinstance(mailbox, MemoryMailbox | RedisMailbox)
    return mailbox.total_bytes


def test_fifo_per_key_and_keys_are_isolated(make_mailbox: MailboxFactory) -> None:
    box = make_mailbox(1 << 20)
    for i in range(5):
        assert box.put(env(tag="a", seq=i), 1.0)
    assert box.put(env(tag="b", seq=99), 1.0)
    assert [box.take(key(tag="a"), 1.0).seq for _ in range(5)] == list(range(5))
    assert box.take(key(tag="b"), 1.0).seq == 99
    assert held(box) == 0
    with pytest.raises(MailboxTimeout, match="'a'"):
        box.take(key(tag="a"), 0.05)


def test_zero_timeout_take(make_mailbox: MailboxFactory) -> None:
    box = make_mailbox(1 << 20)
    with pytest.raises(MailboxTimeout):
        box.take(key(), 0)
    box.put(env(), 1.0)
    assert box.take(key(), 0).payload == env().payload


def test_full_mailbox_makes_put_wait_until_a_take(make_mailbox: MailboxFactory) -> None:
    box = make_mailbox(2 * SIZE + SIZE // 2)  # room for two envelopes
    assert box.put(env(seq=0), 1.0) and box.put(env(seq=1), 1.0)
    started = time.monotonic()
    with pytest.raises(MailboxFull, match="not pulling"):
        box.put(env(seq=2), 0.2)
    assert time.monotonic() - started >= 0.15
    done = threading.Event()
    thread = threading.Thread(target=lambda: box.put(env(seq=2), 10.0) and done.set())
    thread.start()
    assert not done.wait(0.3)  # backpressure: still waiting for room
    assert held(box) <= box_max(box)
    assert box.take(key(), 1.0).seq == 0
    assert done.wait(5.0)
    thread.join(5.0)
    assert [box.take(key(), 1.0).seq for _ in range(2)] == [1, 2]
    assert held(box) == 0


def box_max(box: Mailbox) -> int:
    assert isinstance(box, MemoryMailbox | RedisMailbox)
    return box.max_bytes


def test_envelope_larger_than_the_bound_is_refused_at_once(make_mailbox: MailboxFactory) -> None:
    box = make_mailbox(SIZE - 1)
    started = time.monotonic()
    with pytest.raises(MailboxFull, match="exceeds the mailbox bound"):
        box.put(env(), 10.0)
    assert time.monotonic() - started < 1.0


def test_abort_drops_the_job_and_fails_its_takes(make_mailbox: MailboxFactory) -> None:
    box = make_mailbox(2 * SIZE + SIZE // 2)
    box.put(env(job="doomed"), 1.0)
    box.put(env(job="kept"), 1.0)
    outcome: list[object] = []
    waiter = threading.Thread(target=lambda: outcome.append(_catch(box, key("doomed", "later"))))
    waiter.start()
    time.sleep(0.1)
    box.abort("doomed", "guest 9999 failed: boom")
    waiter.join(3.0)
    assert len(outcome) == 1 and isinstance(outcome[0], MailboxAborted)
    assert "boom" in str(outcome[0]) and "doomed" in str(outcome[0])
    with pytest.raises(MailboxAborted):
        box.take(key("doomed"), 0.05)
    assert not box.put(env(job="doomed"), 1.0)  # later envelopes of the job are dropped
    assert held(box) == env(job="kept").ByteSize()  # only the kept job's envelope remains
    assert box.take(key("kept"), 1.0).job_id == "kept"


def _catch(box: Mailbox, which: MailboxKey) -> object:
    try:
        return box.take(which, 10.0)
    except Exception as exc:
        return exc


def test_abort_releases_a_put_waiting_for_room(make_mailbox: MailboxFactory) -> None:
    box = make_mailbox(SIZE + SIZE // 2)
    box.put(env(job="doomed"), 1.0)
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(box.put(env(job="doomed"), 10.0)))
    thread.start()
    time.sleep(0.1)
    box.abort("doomed", "canceled")
    thread.join(3.0)
    assert outcome == [False]
    assert held(box) == 0


def test_requeue_returns_the_envelope_to_the_head(make_mailbox: MailboxFactory) -> None:
    box = make_mailbox(1 << 20)
    box.put(env(seq=0), 1.0)
    box.put(env(seq=1), 1.0)
    first = box.take(key(), 1.0)
    box.requeue(first)
    assert [box.take(key(), 1.0).seq for _ in range(2)] == [0, 1]
    assert held(box) == 0


def test_cancelled_take_stops_waiting(make_mailbox: MailboxFactory) -> None:
    box = make_mailbox(1 << 20)
    cancelled = threading.Event()
    threading.Timer(0.1, cancelled.set).start()
    started = time.monotonic()
    with pytest.raises(MailboxTimeout, match="cancelled"):
        box.take(key(), 30.0, cancelled.is_set)
    assert time.monotonic() - started < 2.0


def test_memory_mailbox_tracks_its_peak() -> None:
    box = MemoryMailbox(10 * SIZE)
    for i in range(3):
        box.put(env(seq=i), 1.0)
    for _ in range(3):
        box.take(key(), 1.0)
    assert box.total_bytes == 0
    assert box.peak_bytes == sum(env(seq=i).ByteSize() for i in range(3))


def test_redis_namespaces_and_parties_do_not_share_queues(redis_url: str) -> None:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    a = RedisMailbox(redis_url, 10000, 1 << 20, namespace=namespace)
    b = RedisMailbox(redis_url, 10000, 1 << 20, namespace=namespace + "-other")
    c = RedisMailbox(redis_url, 10001, 1 << 20, namespace=namespace)
    try:
        a.put(env(), 1.0)
        for other in (b, c):
            with pytest.raises(MailboxTimeout):
                other.take(key(), 0)
        assert a.take(key(), 0).payload == env().payload
    finally:
        for box in (a, b, c):
            box.close()
