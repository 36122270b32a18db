"""The contract every :class:`~fedloom.federation.transport.Transport` implementation passes.

Usage (Flower-style): subclass :class:`TransportContract` in a ``test_*.py`` module and provide a
``transport_factory`` fixture::

    class TestMyTransport(TransportContract):
        @pytest.fixture
        def transport_factory(self) -> Iterator[TransportFactory]:
            ...  # start whatever the transport needs
            yield lambda local: MyTransport(...)  # the transport `local` sends and receives by
            ...  # close transports, stop servers

``transport_factory(local)`` returns the transport through which party ``local`` pushes the
envelopes it sends and pulls the envelopes addressed to it; every transport it returns is on the
same network (for the in-memory transport: one shared broker; for gRPC: one proxy per party with
routes to each other). The suite only uses the public Transport interface, asks for a fresh job
id per test, and bounds every wait, so a broken implementation fails instead of hanging.

This module is not collected by itself (its name does not start with ``test_`` and the class
name does not start with ``Test``).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import ClassVar

import pytest

from fedloom.federation.messenger import Messenger, checksum
from fedloom.federation.transport import Transport
from fedloom.federation.types import (
    Envelope,
    FederationAborted,
    FederationError,
    FederationTimeout,
    Party,
)

TransportFactory = Callable[[Party], Transport]

GUEST = Party("guest", 9999)
HOST = Party("host", 10000)
HOST2 = Party("host", 10001)
HOST3 = Party("host", 10002)
ARBITER = Party("arbiter", 10003)
GUEST_AS_HOST = Party("host", 9999)  # the same institution in another role is another party


def envelope(
    job_id: str,
    src: Party,
    dst: Party,
    tag: str,
    payload: bytes = b"payload",
    *,
    seq: int = 0,
    chunk_index: int = 0,
    chunk_count: int = 1,
) -> Envelope:
    """An envelope with a correct checksum."""
    return Envelope(
        job_id, src, dst, tag, seq, chunk_index, chunk_count, payload, checksum(payload)
    )


class Network:
    """One transport per local party, created on first use through the factory."""

    def __init__(self, factory: TransportFactory) -> None:
        self._factory = factory
        self._transports: dict[Party, Transport] = {}
        self._lock = threading.Lock()

    def __call__(self, local: Party) -> Transport:
        with self._lock:
            if local not in self._transports:
                self._transports[local] = self._factory(local)
            return self._transports[local]


def run_in_thread(target: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Start ``target`` in a daemon thread; its return value or exception lands in the list."""
    outcome: list[object] = []

    def wrapper() -> None:
        try:
            outcome.append(target())
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=wrapper, daemon=True)
    thread.start()
    return thread, outcome


class TransportContract:
    """Behaviour every transport must show; subclasses provide ``transport_factory``."""

    WAIT: ClassVar[float] = 10.0
    """Upper bound for anything that should arrive (generous for networked transports)."""
    SHORT: ClassVar[float] = 0.3
    """Timeout for pulls that must time out."""
    SLACK: ClassVar[float] = 2.0
    """How late a timeout or an abort may be noticed."""

    @pytest.fixture
    def transport_factory(self) -> TransportFactory:
        raise NotImplementedError("subclasses of TransportContract provide transport_factory")

    @pytest.fixture
    def net(self, transport_factory: TransportFactory) -> Network:
        return Network(transport_factory)

    @pytest.fixture
    def job_id(self) -> str:
        return f"contract-{uuid.uuid4().hex[:12]}"

    # -- envelopes ------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("src", "dst"),
        [(GUEST, HOST), (HOST, GUEST), (HOST2, ARBITER), (ARBITER, GUEST), (GUEST, GUEST_AS_HOST)],
    )
    def test_round_trip_preserves_every_field(
        self, net: Network, job_id: str, src: Party, dst: Party
    ) -> None:
        payload = bytes(range(256)) * 3 + b"\x00"
        sent = Envelope(
            job_id,
            src,
            dst,
            "hetero_lr/iter-3/batch-0/forward",
            7,
            2,
            5,
            payload,
            checksum(payload),
        )
        net(src).push(sent)
        got = net(dst).pull(job_id, src, dst, sent.tag, self.WAIT)
        assert got == sent
        assert (got.seq, got.chunk_index, got.chunk_count) == (7, 2, 5)
        assert got.payload == payload and got.checksum == checksum(payload)
        assert (got.src, got.dst, got.job_id) == (src, dst, job_id)

    def test_empty_payload(self, net: Network, job_id: str) -> None:
        sent = envelope(job_id, GUEST, HOST, "empty", b"")
        net(GUEST).push(sent)
        assert net(HOST).pull(job_id, GUEST, HOST, "empty", self.WAIT) == sent

    def test_fifo_per_key(self, net: Network, job_id: str) -> None:
        sent = [envelope(job_id, GUEST, HOST, "fifo", f"m{i}".encode(), seq=i) for i in range(100)]
        for env in sent:
            net(GUEST).push(env)
        got = [net(HOST).pull(job_id, GUEST, HOST, "fifo", self.WAIT) for _ in sent]
        assert got == sent

    def test_each_envelope_is_pulled_exactly_once(self, net: Network, job_id: str) -> None:
        net(GUEST).push(envelope(job_id, GUEST, HOST, "once", b"only"))
        assert net(HOST).pull(job_id, GUEST, HOST, "once", self.WAIT).payload == b"only"
        with pytest.raises(FederationTimeout):
            net(HOST).pull(job_id, GUEST, HOST, "once", self.SHORT)

    def test_keys_are_isolated(self, net: Network, job_id: str) -> None:
        other_job = f"{job_id}-other"
        keys = [
            (job_id, GUEST, HOST, "t"),
            (other_job, GUEST, HOST, "t"),  # other job
            (job_id, HOST2, HOST, "t"),  # other source
            (job_id, GUEST, HOST2, "t"),  # other destination
            (job_id, GUEST, HOST, "t2"),  # other tag
            (job_id, GUEST, HOST, "t/sub"),  # a namespaced tag is another tag
            (job_id, GUEST_AS_HOST, HOST, "t"),  # same party id, other role
        ]
        for i, (job, src, dst, tag) in enumerate(keys):
            net(src).push(envelope(job, src, dst, tag, f"key-{i}".encode()))
        # Pull in reverse order of pushing: a pull never returns another key's envelope.
        for i, (job, src, dst, tag) in reversed(list(enumerate(keys))):
            got = net(dst).pull(job, src, dst, tag, self.WAIT)
            assert got.payload == f"key-{i}".encode()
            assert (got.job_id, got.src, got.dst, got.tag) == (job, src, dst, tag)
        for job, src, dst, tag in keys:
            with pytest.raises(FederationTimeout):
                net(dst).pull(job, src, dst, tag, 0.05)

    # -- blocking, timeouts, aborts ---------------------------------------------------------

    def test_pull_blocks_until_a_push_from_another_thread(self, net: Network, job_id: str) -> None:
        receiver = net(HOST)
        sender = net(GUEST)
        started = time.monotonic()
        thread, outcome = run_in_thread(
            lambda: receiver.pull(job_id, GUEST, HOST, "late", self.WAIT)
        )
        time.sleep(0.2)
        assert thread.is_alive() and not outcome  # still waiting
        sent = envelope(job_id, GUEST, HOST, "late", b"finally")
        sender.push(sent)
        thread.join(self.WAIT)
        assert not thread.is_alive()
        assert outcome == [sent]
        assert time.monotonic() - started >= 0.2

    def test_pull_timeout_names_source_and_tag(self, net: Network, job_id: str) -> None:
        started = time.monotonic()
        with pytest.raises(FederationTimeout) as info:
            net(HOST).pull(job_id, GUEST, HOST, "never/sent", self.SHORT)
        elapsed = time.monotonic() - started
        assert self.SHORT * 0.9 <= elapsed <= self.SHORT + self.SLACK
        assert str(GUEST) in str(info.value)
        assert "never/sent" in str(info.value)
        assert isinstance(info.value, TimeoutError)
        assert isinstance(info.value, FederationError)

    def test_zero_timeout_returns_what_is_already_there(self, net: Network, job_id: str) -> None:
        sent = envelope(job_id, GUEST, HOST, "ready", b"here")
        net(GUEST).push(sent)
        deadline = time.monotonic() + self.WAIT
        while True:  # a networked transport may need a moment to deliver
            try:
                assert net(HOST).pull(job_id, GUEST, HOST, "ready", 0) == sent
                break
            except FederationTimeout:
                assert time.monotonic() < deadline
                time.sleep(0.01)

    def test_abort_wakes_pending_pulls(self, net: Network, job_id: str) -> None:
        receiver = net(HOST)
        started = time.monotonic()
        waiting = [
            run_in_thread(lambda tag=tag: receiver.pull(job_id, GUEST, HOST, tag, 60.0))
            for tag in ("a", "b", "c")
        ]
        time.sleep(0.2)
        receiver.abort(job_id, "guest 9999 failed: boom")
        for thread, outcome in waiting:
            thread.join(self.SLACK + 1)
            assert not thread.is_alive()
            assert len(outcome) == 1 and isinstance(outcome[0], FederationAborted)
            assert "boom" in str(outcome[0])
        assert time.monotonic() - started < 0.2 + self.SLACK + 1

    def test_pulls_after_abort_fail_and_other_jobs_go_on(self, net: Network, job_id: str) -> None:
        other_job = f"{job_id}-unrelated"
        net(GUEST).push(envelope(job_id, GUEST, HOST, "t", b"doomed"))
        net(HOST).abort(job_id, "canceled")
        with pytest.raises(FederationAborted):
            net(HOST).pull(job_id, GUEST, HOST, "t", self.SHORT)
        with pytest.raises(FederationAborted):
            net(HOST).pull(job_id, GUEST, HOST, "other-tag", self.SHORT)
        sent = envelope(other_job, GUEST, HOST, "t", b"fine")
        net(GUEST).push(sent)
        assert net(HOST).pull(other_job, GUEST, HOST, "t", self.WAIT) == sent

    def test_abort_of_one_job_does_not_wake_another(self, net: Network, job_id: str) -> None:
        other_job = f"{job_id}-unrelated"
        receiver = net(HOST)
        thread, outcome = run_in_thread(
            lambda: receiver.pull(other_job, GUEST, HOST, "t", self.WAIT)
        )
        time.sleep(0.1)
        receiver.abort(job_id, "canceled")
        time.sleep(0.2)
        assert thread.is_alive() and not outcome
        sent = envelope(other_job, GUEST, HOST, "t", b"still delivered")
        net(GUEST).push(sent)
        thread.join(self.WAIT)
        assert outcome == [sent]

    def test_close_is_idempotent(self, transport_factory: TransportFactory) -> None:
        transport = transport_factory(Party("host", 10099))
        transport.close()
        transport.close()

    # -- volume and concurrency -------------------------------------------------------------

    def test_large_payload(self, net: Network, job_id: str) -> None:
        payload = os.urandom(8 * 1024 * 1024)
        sent = envelope(job_id, GUEST, ARBITER, "big", payload)
        net(GUEST).push(sent)
        got = net(ARBITER).pull(job_id, GUEST, ARBITER, "big", self.WAIT)
        assert got.payload == payload and got == sent

    def test_concurrent_senders_are_all_delivered(self, net: Network, job_id: str) -> None:
        per_sender = 40
        senders = [GUEST, HOST, HOST2, HOST3]
        shared_writers = 3  # threads pushing on one and the same key

        def send_own(src: Party) -> None:
            for i in range(per_sender):
                net(src).push(envelope(job_id, src, ARBITER, "grad", f"{src}|{i}".encode(), seq=i))

        def send_shared(writer: int) -> None:
            for i in range(per_sender):
                net(GUEST).push(
                    envelope(job_id, GUEST, ARBITER, "shared", f"{writer}|{i}".encode())
                )

        threads = [threading.Thread(target=send_own, args=(s,)) for s in senders]
        threads += [threading.Thread(target=send_shared, args=(w,)) for w in range(shared_writers)]
        for thread in threads:
            thread.start()
        receiver = net(ARBITER)
        for src in senders:
            got = [
                receiver.pull(job_id, src, ARBITER, "grad", self.WAIT) for _ in range(per_sender)
            ]
            assert [e.payload for e in got] == [f"{src}|{i}".encode() for i in range(per_sender)]
        shared = [
            receiver.pull(job_id, GUEST, ARBITER, "shared", self.WAIT).payload.decode()
            for _ in range(shared_writers * per_sender)
        ]
        by_writer: defaultdict[str, list[int]] = defaultdict(list)
        for item in shared:
            writer, i = item.split("|")
            by_writer[writer].append(int(i))
        # Interleaving between writers is free; each writer's own pushes keep their order.
        assert dict(by_writer) == {str(w): list(range(per_sender)) for w in range(shared_writers)}
        for thread in threads:
            thread.join(self.WAIT)
            assert not thread.is_alive()
        with pytest.raises(FederationTimeout):
            receiver.pull(job_id, GUEST, ARBITER, "shared", 0.05)

    # -- the messenger on top of the transport ----------------------------------------------

    def messengers(
        self, net: Network, job_id: str, chunk_size: int = 4 * 1024 * 1024
    ) -> tuple[Messenger, Messenger]:
        sender = Messenger(net(GUEST), job_id, GUEST, chunk_size=chunk_size, timeout=self.WAIT)
        receiver = Messenger(net(HOST), job_id, HOST, chunk_size=chunk_size, timeout=self.WAIT)
        return sender, receiver

    @pytest.mark.parametrize(("size", "chunk_size"), [(1000, 7), (64, 64), (65, 64), (1, 1)])
    def test_messenger_reassembles_chunked_messages(
        self, net: Network, job_id: str, size: int, chunk_size: int
    ) -> None:
        sender, receiver = self.messengers(net, job_id, chunk_size)
        payload = os.urandom(size)
        sender.send(HOST, "chunked", payload)
        assert receiver.recv(GUEST, "chunked") == payload

    def test_messenger_large_message_in_chunks(self, net: Network, job_id: str) -> None:
        sender, receiver = self.messengers(net, job_id, 1024 * 1024)
        payload = os.urandom(5 * 1024 * 1024 + 17)
        sender.send(HOST, "big", payload)
        assert receiver.recv(GUEST, "big") == payload

    def test_messenger_empty_payload(self, net: Network, job_id: str) -> None:
        sender, receiver = self.messengers(net, job_id, 16)
        sender.send(HOST, "nothing", b"")
        sender.send(HOST, "nothing", b"x")
        assert receiver.recv(GUEST, "nothing") == b""
        assert receiver.recv(GUEST, "nothing") == b"x"

    def test_messenger_same_tag_arrives_in_order(self, net: Network, job_id: str) -> None:
        sender, receiver = self.messengers(net, job_id, 5)
        messages = [os.urandom(n) for n in (0, 3, 5, 11, 40, 1)]
        for message in messages:
            sender.send(HOST, "again", message)
        assert [receiver.recv(GUEST, "again") for _ in messages] == messages

    def test_messenger_interleaved_tags_and_directions(self, net: Network, job_id: str) -> None:
        guest, host = self.messengers(net, job_id, 3)
        guest.send(HOST, "a", b"a0-long-enough")
        guest.send(HOST, "b", b"b0")
        host.send(GUEST, "a", b"reply")
        guest.send(HOST, "a", b"a1")
        assert host.recv(GUEST, "b") == b"b0"
        assert host.recv(GUEST, "a") == b"a0-long-enough"
        assert guest.recv(HOST, "a") == b"reply"
        assert host.recv(GUEST, "a") == b"a1"

    def test_messenger_receive_from_another_thread(self, net: Network, job_id: str) -> None:
        sender, receiver = self.messengers(net, job_id, 10)
        payload = os.urandom(1234)
        thread, outcome = run_in_thread(lambda: receiver.recv(GUEST, "threaded"))
        time.sleep(0.1)
        sender.send(HOST, "threaded", payload)
        thread.join(self.WAIT)
        assert outcome == [payload]
