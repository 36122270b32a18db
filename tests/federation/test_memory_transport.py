"""The in-memory transport: the shared contract suite, plus what is specific to one broker."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator

import pytest
from transport_contract import (
    GUEST,
    HOST,
    HOST2,
    TransportContract,
    TransportFactory,
    envelope,
    run_in_thread,
)

from fedloom.federation.memory_transport import InMemoryBroker, InMemoryTransport
from fedloom.federation.transport import Transport
from fedloom.federation.types import FederationAborted, FederationTimeout, Party

pytestmark = pytest.mark.unit


class TestInMemoryTransport(TransportContract):
    @pytest.fixture
    def transport_factory(self) -> Iterator[TransportFactory]:
        broker = InMemoryBroker()
        made: list[Transport] = []

        def factory(local: Party) -> Transport:
            transport = InMemoryTransport(broker)
            made.append(transport)
            return transport

        yield factory
        for transport in made:
            transport.close()


class TestInMemorySpecifics:
    def test_transports_without_a_shared_broker_are_not_connected(self) -> None:
        a, b = InMemoryTransport(), InMemoryTransport()
        a.push(envelope("job", GUEST, HOST, "t"))
        with pytest.raises(FederationTimeout):
            b.pull("job", GUEST, HOST, "t", 0.05)
        assert a.pull("job", GUEST, HOST, "t", 0.05).payload == b"payload"

    def test_abort_is_visible_to_every_transport_on_the_broker(self) -> None:
        broker = InMemoryBroker()
        a, b = InMemoryTransport(broker), InMemoryTransport(broker)
        thread, outcome = run_in_thread(lambda: b.pull("job", GUEST, HOST, "t", 30.0))
        time.sleep(0.05)
        a.abort("job", "host failed")
        thread.join(5.0)
        assert len(outcome) == 1 and isinstance(outcome[0], FederationAborted)
        assert "host failed" in str(outcome[0])

    def test_abort_drops_queued_envelopes_of_that_job_only(self) -> None:
        broker = InMemoryBroker()
        for job in ("doomed", "kept"):
            broker.push(envelope(job, GUEST, HOST, "t", job.encode()))
        broker.abort("doomed", "canceled")
        assert not any(key[0] == "doomed" for key in broker._boxes)
        assert broker.pull("kept", GUEST, HOST, "t", 0.05).payload == b"kept"

    def test_infinite_timeout_waits_without_error(self) -> None:
        broker = InMemoryBroker()
        thread, outcome = run_in_thread(lambda: broker.pull("job", GUEST, HOST2, "t", math.inf))
        time.sleep(0.05)
        sent = envelope("job", GUEST, HOST2, "t")
        broker.push(sent)
        thread.join(5.0)
        assert outcome == [sent]

    def test_drained_mailboxes_are_released(self) -> None:
        broker = InMemoryBroker()
        for i in range(3):
            broker.push(envelope("job", GUEST, HOST, f"t{i}"))
        for i in range(3):
            broker.pull("job", GUEST, HOST, f"t{i}", 0.05)
        assert broker._boxes == {}

    def test_many_waiters_on_distinct_keys(self) -> None:
        broker = InMemoryBroker()
        results: dict[int, bytes] = {}

        def wait(i: int) -> None:
            results[i] = broker.pull("job", GUEST, HOST, f"k{i}", 5.0).payload

        threads = [threading.Thread(target=wait, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for i in reversed(range(20)):
            broker.push(envelope("job", GUEST, HOST, f"k{i}", str(i).encode()))
        for thread in threads:
            thread.join(5.0)
        assert results == {i: str(i).encode() for i in range(20)}
