"""Tests for fedloom.federation.messenger: chunking, sequence and integrity checks.

Envelopes are captured on the way out by a fake transport, tampered with, and delivered by hand
into an in-memory broker, so every corruption the network could cause is exercised.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedloom.federation.memory_transport import InMemoryBroker, InMemoryTransport
from fedloom.federation.messenger import DEFAULT_CHUNK_SIZE, Messenger, checksum
from fedloom.federation.transport import Transport
from fedloom.federation.types import Envelope, FederationError, FederationTimeout, Party

pytestmark = pytest.mark.unit

GUEST = Party("guest", 9999)
HOST = Party("host", 10000)
JOB = "job-messenger"


class CapturingTransport(Transport):
    """Keeps every pushed envelope instead of delivering it."""

    def __init__(self) -> None:
        self.sent: list[Envelope] = []

    def push(self, envelope: Envelope) -> None:
        self.sent.append(envelope)

    def pull(self, job_id: str, src: Party, dst: Party, tag: str, timeout: float) -> Envelope:
        raise AssertionError("the capturing transport is send-only")

    def abort(self, job_id: str, reason: str) -> None:
        raise AssertionError("not used")


def capture(*messages: bytes, chunk_size: int = 4, tag: str = "t") -> list[Envelope]:
    """The envelopes the guest's messenger emits for ``messages`` sent to the host."""
    transport = CapturingTransport()
    sender = Messenger(transport, JOB, GUEST, chunk_size=chunk_size)
    for message in messages:
        sender.send(HOST, tag, message)
    return transport.sent


def receive(envelopes: list[Envelope], tag: str = "t", timeout: float = 1.0) -> bytes:
    """Deliver ``envelopes`` as they are and receive one message at the host."""
    broker = InMemoryBroker()
    for env in envelopes:
        broker.push(env)
    return Messenger(InMemoryTransport(broker), JOB, HOST, timeout=timeout).recv(GUEST, tag)


def tampered(env: Envelope, **changes: object) -> Envelope:
    return dataclasses.replace(env, **changes)  # type: ignore[arg-type]


class TestChunking:
    @given(size=st.integers(0, 300), chunk_size=st.integers(1, 64))
    @settings(max_examples=100, deadline=None)
    def test_envelopes_split_the_payload(self, size: int, chunk_size: int) -> None:
        payload = os.urandom(size)
        sent = capture(payload, chunk_size=chunk_size)
        count = max(1, -(-size // chunk_size))
        assert len(sent) == count
        assert [e.chunk_index for e in sent] == list(range(count))
        assert {(e.seq, e.chunk_count, e.job_id, e.src, e.dst, e.tag) for e in sent} == {
            (0, count, JOB, GUEST, HOST, "t")
        }
        assert all(len(e.payload) <= chunk_size for e in sent)
        assert all(e.checksum == checksum(e.payload) for e in sent)
        assert b"".join(e.payload for e in sent) == payload
        assert receive(sent) == payload

    def test_empty_payload_is_one_empty_chunk(self) -> None:
        [env] = capture(b"")
        assert (env.chunk_count, env.payload) == (1, b"")
        assert receive([env]) == b""

    def test_sequence_numbers_count_per_destination_and_tag(self) -> None:
        transport = CapturingTransport()
        sender = Messenger(transport, JOB, GUEST, chunk_size=100)
        other = Party("arbiter", 10001)
        for dst, tag in [(HOST, "a"), (HOST, "a"), (HOST, "b"), (other, "a"), (HOST, "a")]:
            sender.send(dst, tag, b"x")
        assert [(e.dst, e.tag, e.seq) for e in transport.sent] == [
            (HOST, "a", 0),
            (HOST, "a", 1),
            (HOST, "b", 0),
            (other, "a", 0),
            (HOST, "a", 2),
        ]

    def test_checksum_is_a_16_byte_blake2b(self) -> None:
        assert checksum(b"abc") == hashlib.blake2b(b"abc", digest_size=16).digest()
        assert len(checksum(b"")) == 16

    def test_default_chunk_size(self) -> None:
        messenger = Messenger(CapturingTransport(), JOB, GUEST)
        assert messenger.chunk_size == DEFAULT_CHUNK_SIZE == 4 * 1024 * 1024


class TestChunkSizeValidation:
    @pytest.mark.parametrize("chunk_size", [0, -1, -4096])
    def test_non_positive_chunk_size_is_rejected(self, chunk_size: int) -> None:
        with pytest.raises(ValueError, match="chunk_size"):
            Messenger(CapturingTransport(), JOB, GUEST, chunk_size=chunk_size)

    @pytest.mark.parametrize("chunk_size", [1.5, 4.0, "4", None])
    def test_non_integer_chunk_size_is_rejected_up_front(self, chunk_size: object) -> None:
        with pytest.raises(TypeError):
            Messenger(CapturingTransport(), JOB, GUEST, chunk_size=chunk_size)  # type: ignore[arg-type]

    def test_numpy_integer_chunk_size_is_accepted(self) -> None:
        transport = CapturingTransport()
        Messenger(transport, JOB, GUEST, chunk_size=np.int64(3)).send(HOST, "t", b"abcdefg")
        assert [e.payload for e in transport.sent] == [b"abc", b"def", b"g"]


Tamper = Callable[[list[Envelope]], list[Envelope]]


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


class TestTampering:
    PAYLOAD = b"0123456789AB"  # three chunks of 4

    @pytest.mark.parametrize(
        ("tamper", "match"),
        [
            (
                lambda es: [es[0], tampered(es[1], payload=_flip(es[1].payload, 2)), es[2]],
                "checksum mismatch in chunk 1",
            ),
            (
                lambda es: [es[0], es[1], tampered(es[2], checksum=bytes(16))],
                "checksum mismatch in chunk 2",
            ),
            (
                lambda es: [tampered(es[0], payload=es[0].payload + b"!"), es[1], es[2]],
                "checksum mismatch in chunk 0",
            ),
            (lambda es: [es[1], es[0], es[2]], "expected seq 0 chunk 0, got seq 0 chunk 1"),
            (lambda es: [es[0], es[2], es[1]], "expected seq 0 chunk 1, got seq 0 chunk 2"),
            (lambda es: [es[0], es[0], es[1], es[2]], "expected seq 0 chunk 1, got seq 0 chunk 0"),
            (lambda es: [tampered(e, seq=1) for e in es], "expected seq 0 chunk 0, got seq 1"),
            (
                lambda es: [es[0], tampered(es[1], chunk_count=2), es[2]],
                "chunk count changed",
            ),
            (lambda es: [tampered(e, chunk_count=0) for e in es], "invalid chunk count 0"),
            (lambda es: [tampered(e, chunk_count=-3) for e in es], "invalid chunk count -3"),
        ],
        ids=[
            "payload-bit-flip",
            "checksum-zeroed",
            "payload-extended",
            "chunks-swapped",
            "last-chunks-swapped",
            "chunk-duplicated",
            "wrong-seq",
            "count-changed",
            "count-zero",
            "count-negative",
        ],
    )
    def test_corruption_is_detected(self, tamper: Tamper, match: str) -> None:
        sent = capture(self.PAYLOAD)
        assert len(sent) == 3
        with pytest.raises(FederationError, match=match) as info:
            receive(tamper(sent))
        assert str(GUEST) in str(info.value) and "'t'" in str(info.value)

    def test_lost_message_is_detected_by_the_next_sequence_number(self) -> None:
        first, second = capture(b"first", b"second", chunk_size=100)
        assert (first.seq, second.seq) == (0, 1)
        with pytest.raises(FederationError, match="expected seq 0 chunk 0, got seq 1 chunk 0"):
            receive([second])

    def test_truncated_message_times_out(self) -> None:
        sent = capture(self.PAYLOAD)
        with pytest.raises(FederationTimeout):
            receive(sent[:2], timeout=0.1)

    def test_untampered_chunks_pass(self) -> None:
        assert receive(capture(self.PAYLOAD)) == self.PAYLOAD


class TestReceive:
    def test_timeout_argument_overrides_the_default(self) -> None:
        messenger = Messenger(InMemoryTransport(), JOB, HOST, timeout=60.0)
        started = time.monotonic()
        with pytest.raises(FederationTimeout, match="'slow'"):
            messenger.recv(GUEST, "slow", timeout=0.1)
        assert time.monotonic() - started < 5.0

    def test_receive_can_be_retried_after_a_timeout(self) -> None:
        broker = InMemoryBroker()
        sender = Messenger(InMemoryTransport(broker), JOB, GUEST, chunk_size=3)
        receiver = Messenger(InMemoryTransport(broker), JOB, HOST)
        with pytest.raises(FederationTimeout):
            receiver.recv(GUEST, "t", timeout=0.05)
        sender.send(HOST, "t", b"late but whole")
        sender.send(HOST, "t", b"next")
        assert receiver.recv(GUEST, "t", timeout=1.0) == b"late but whole"
        assert receiver.recv(GUEST, "t", timeout=1.0) == b"next"

    def test_sequences_are_independent_per_source_and_tag(self) -> None:
        broker = InMemoryBroker()
        guest = Messenger(InMemoryTransport(broker), JOB, GUEST, chunk_size=2)
        arbiter = Party("arbiter", 10001)
        from_arbiter = Messenger(InMemoryTransport(broker), JOB, arbiter, chunk_size=2)
        host = Messenger(InMemoryTransport(broker), JOB, HOST)
        guest.send(HOST, "x", b"g-x-0")
        guest.send(HOST, "y", b"g-y-0")
        from_arbiter.send(HOST, "x", b"a-x-0")
        guest.send(HOST, "x", b"g-x-1")
        assert host.recv(arbiter, "x") == b"a-x-0"
        assert host.recv(GUEST, "y") == b"g-y-0"
        assert host.recv(GUEST, "x") == b"g-x-0"
        assert host.recv(GUEST, "x") == b"g-x-1"
