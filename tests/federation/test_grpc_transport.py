"""The gRPC transport: the full transport contract over real proxies, and what only it has.

Five proxies (one per party id of the contract suite) run in this process on 127.0.0.1 with
routes to each other; each party's transport talks to its own party's proxy only.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from transport_contract import (
    ARBITER,
    GUEST,
    HOST,
    TransportContract,
    TransportFactory,
    envelope,
    run_in_thread,
)

from fedloom.federation import GrpcTransport
from fedloom.federation.messenger import Messenger
from fedloom.federation.transport import Transport
from fedloom.federation.types import FederationError, FederationTimeout, Party
from services.proxy.mailbox import RedisMailbox
from services.proxy.server import start_proxy
from services.proxy.settings import ProxySettings

pytestmark = pytest.mark.integration

PARTY_IDS = (9999, 10000, 10001, 10002, 10003)
RPC_TIMEOUT = 10.0


def make_factory(network: Any) -> tuple[TransportFactory, list[Transport]]:
    """A factory of transports bound to the proxy of the local party's id."""
    made: list[Transport] = []

    def factory(local: Party) -> Transport:
        party_id = local.party_id if local.party_id in network.proxies else PARTY_IDS[0]
        transport = GrpcTransport(network.address(party_id), timeout=RPC_TIMEOUT)
        made.append(transport)
        return transport

    return factory, made


@pytest.fixture(scope="module")
def memory_network(start_proxies: Any) -> Iterator[Any]:
    """Five proxies with in-memory mailboxes, shared by the module's tests."""
    group = start_proxies(PARTY_IDS)
    yield group
    group.stop()


@pytest.fixture(scope="module")
def redis_network(start_proxies: Any, redis_url: str) -> Iterator[Any]:
    """Five proxies keeping their mailboxes in Redis (keys under a namespace of their own)."""
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    group = start_proxies(
        PARTY_IDS,
        mailbox=lambda party_id: RedisMailbox(
            redis_url, party_id, 256 * 1024 * 1024, namespace=namespace
        ),
    )
    yield group
    group.stop()


class TestGrpcTransport(TransportContract):
    @pytest.fixture
    def transport_factory(self, memory_network: Any) -> Iterator[TransportFactory]:
        factory, made = make_factory(memory_network)
        yield factory
        for transport in made:
            transport.close()


class TestGrpcTransportRedisMailbox(TransportContract):
    """The same contract with every proxy keeping its mailbox in Redis."""

    @pytest.fixture
    def transport_factory(self, redis_network: Any) -> Iterator[TransportFactory]:
        factory, made = make_factory(redis_network)
        yield factory
        for transport in made:
            transport.close()


@pytest.fixture(scope="module")
def three(start_proxies: Any) -> Iterator[Any]:
    """Proxies of a guest, a host and an arbiter."""
    group = start_proxies((GUEST.party_id, HOST.party_id, ARBITER.party_id))
    yield group
    group.stop()


class TestGrpcSpecifics:
    @pytest.fixture
    def transports(self, three: Any) -> Iterator[dict[int, GrpcTransport]]:
        made = {p: GrpcTransport(three.address(p), timeout=RPC_TIMEOUT) for p in three.proxies}
        yield made
        for transport in made.values():
            transport.close()

    def test_messenger_round_trip_across_proxies(
        self, transports: dict[int, GrpcTransport]
    ) -> None:
        job = f"job-{uuid.uuid4().hex[:8]}"
        chunk = 256 * 1024
        guest = Messenger(transports[GUEST.party_id], job, GUEST, chunk_size=chunk, timeout=10)
        arbiter = Messenger(
            transports[ARBITER.party_id], job, ARBITER, chunk_size=chunk, timeout=10
        )
        request = os.urandom(3 * 1024 * 1024 + 5)  # 13 chunks
        guest.send(ARBITER, "round/trip", request)
        assert arbiter.recv(GUEST, "round/trip") == request
        reply = request[::-1]
        arbiter.send(GUEST, "round/trip", reply)
        assert guest.recv(ARBITER, "round/trip") == reply

    def test_unknown_destination_names_the_party(
        self, transports: dict[int, GrpcTransport]
    ) -> None:
        nowhere = Party("host", 10077)
        with pytest.raises(FederationError) as info:
            transports[GUEST.party_id].push(envelope("job", GUEST, nowhere, "t"))
        assert "10077" in str(info.value)
        assert "NOT_FOUND" in str(info.value)

    def test_party_outside_the_route_table_is_refused(self, start_proxies: Any) -> None:
        outsider = Party("host", 10050)
        # 10050 has a route to 9999, but 9999 does not list 10050.
        group = start_proxies((GUEST.party_id, outsider.party_id), routed=(GUEST.party_id,))
        try:
            with closing(GrpcTransport(group.address(outsider.party_id))) as sender:
                with pytest.raises(FederationError) as info:
                    sender.push(envelope("job", outsider, GUEST, "t"))
            assert "PERMISSION_DENIED" in str(info.value)
            assert "party 10050 is not in the route table of party 9999" in str(info.value)
            # A sender claiming to be an unrouted party is refused at the proxy itself too.
            with closing(GrpcTransport(group.address(GUEST.party_id))) as local:
                with pytest.raises(FederationError, match="10050"):
                    local.push(envelope("job", outsider, GUEST, "t"))
                with pytest.raises(FederationTimeout):
                    local.pull("job", outsider, GUEST, "t", 0.05)
        finally:
            group.stop()

    def test_proxies_do_not_relay_between_other_parties(
        self, transports: dict[int, GrpcTransport]
    ) -> None:
        with pytest.raises(FederationError, match="does not relay envelopes of party 10000"):
            transports[GUEST.party_id].push(envelope("job", HOST, ARBITER, "t"))

    def test_pull_at_another_partys_proxy_is_refused(
        self, transports: dict[int, GrpcTransport]
    ) -> None:
        with pytest.raises(FederationError, match="serves party 9999") as info:
            transports[GUEST.party_id].pull("job", GUEST, HOST, "t", 0.1)
        assert not isinstance(info.value, FederationTimeout)

    def test_infinite_timeout_pull(self, transports: dict[int, GrpcTransport]) -> None:
        receiver = transports[HOST.party_id]
        thread, outcome = run_in_thread(
            lambda: receiver.pull("job-inf", GUEST, HOST, "t", math.inf)
        )
        time.sleep(0.1)
        sent = envelope("job-inf", GUEST, HOST, "t", b"eventually")
        transports[GUEST.party_id].push(sent)
        thread.join(RPC_TIMEOUT)
        assert outcome == [sent]

    def test_unreachable_proxy_fails_within_the_timeout(self, free_tcp_port: int) -> None:
        transport = GrpcTransport(f"127.0.0.1:{free_tcp_port}", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(FederationError, match="UNAVAILABLE"):
            transport.push(envelope("job", GUEST, HOST, "t"))
        with pytest.raises(FederationError, match="UNAVAILABLE"):
            transport.pull("job", HOST, GUEST, "t", 0.3)
        assert time.monotonic() - started < 5.0
        transport.close()
        with pytest.raises(FederationError, match="closed"):
            transport.push(envelope("job", GUEST, HOST, "t"))

    def test_push_is_retried_until_the_proxy_comes_up(self, free_tcp_port: int) -> None:
        port = free_tcp_port
        transport = GrpcTransport(f"127.0.0.1:{port}", timeout=RPC_TIMEOUT)
        sent = envelope("job-retry", GUEST, Party("host", GUEST.party_id), "t", b"late proxy")
        thread, outcome = run_in_thread(lambda: transport.push(sent))
        time.sleep(0.3)
        assert thread.is_alive()  # retrying while nothing listens
        proxy = start_proxy(
            ProxySettings(party_id=GUEST.party_id, proxy_listen=f"127.0.0.1:{port}", redis_url=None)
        )
        try:
            thread.join(RPC_TIMEOUT)
            assert outcome == [None]
            assert transport.pull("job-retry", GUEST, sent.dst, "t", 5.0) == sent
        finally:
            transport.close()
            proxy.stop(0)
