"""Tests for fedloom.federation.context and harness: namespaced tags, put/get, party failures."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from fedloom.crypto import generate_paillier_keypair
from fedloom.federation import (
    Context,
    FederationAborted,
    FederationError,
    FederationTimeout,
    InMemoryBroker,
    InMemoryTransport,
    JobParties,
    KeyRing,
    Messenger,
    Party,
    PartyFailed,
    Received,
    SerdeError,
    run_parties,
)

GUEST = Party("guest", 9999)
HOST1 = Party("host", 10000)
HOST2 = Party("host", 10001)
ARBITER = Party("arbiter", 10002)
JOB = JobParties.of(guest=9999, hosts=[10000, 10001], arbiter=10002)


def small_key_ring() -> KeyRing:
    return KeyRing(min_key_length=512)


def local_context(local: Party, broker: InMemoryBroker, job_id: str = "job-ctx") -> Context:
    """A context for one party, on a broker the test can inspect directly."""
    messenger = Messenger(InMemoryTransport(broker), job_id, local, timeout=1.0)
    return Context(local=local, parties=JOB, messenger=messenger)


def tag_sent(broker: InMemoryBroker, src: Party, dst: Party, tag: str) -> bool:
    """Whether an envelope from src to dst under exactly ``tag`` is waiting."""
    try:
        broker.pull("job-ctx", src, dst, tag, 0)
    except FederationTimeout:
        return False
    return True


@pytest.mark.unit
class TestTags:
    def test_plain_names_are_tags(self) -> None:
        broker = InMemoryBroker()
        local_context(GUEST, broker).arbiter.put("loss", 1.0)
        assert tag_sent(broker, GUEST, ARBITER, "loss")

    def test_sub_contexts_namespace_tags(self) -> None:
        broker = InMemoryBroker()
        ctx = local_context(GUEST, broker)
        sub = ctx.sub("hetero_lr").sub("stats")
        assert sub.namespace == "hetero_lr/stats" and ctx.namespace == ""
        sub.hosts[1].put("mean", 0.5)
        assert tag_sent(broker, GUEST, HOST2, "hetero_lr/stats/mean")
        assert not tag_sent(broker, GUEST, HOST2, "mean")

    def test_iterations_and_batches(self) -> None:
        broker = InMemoryBroker()
        ctx = local_context(HOST1, broker).sub("lr")
        iterations = list(ctx.iterations(4, start=2))
        assert [i for i, _ in iterations] == [2, 3]
        assert [c.namespace for _, c in iterations] == ["lr/iter-2", "lr/iter-3"]
        batches = list(iterations[1][1].batches(3))
        assert [c.namespace for _, c in batches] == [f"lr/iter-3/batch-{b}" for b in range(3)]
        batches[2][1].guest.put("forward", np.ones(2))
        assert tag_sent(broker, HOST1, GUEST, "lr/iter-3/batch-2/forward")

    def test_tags_are_deterministic_across_parties(self) -> None:
        broker = InMemoryBroker()
        guest, host = local_context(GUEST, broker), local_context(HOST1, broker)
        for (i, g), (j, h) in zip(
            guest.sub("a").iterations(3), host.sub("a").iterations(3), strict=True
        ):
            assert i == j and g.namespace == h.namespace
            g.hosts[0].put("x", i)
            assert h.guest.get("x") == i

    def test_sub_context_shares_everything_but_the_namespace(self) -> None:
        ctx = local_context(HOST2, InMemoryBroker())
        sub = ctx.sub("s")
        assert (sub.local, sub.parties, sub.messenger, sub.serde, sub.observer) == (
            ctx.local,
            ctx.parties,
            ctx.messenger,
            ctx.serde,
            ctx.observer,
        )

    @pytest.mark.parametrize(
        "name", ["", "a/b", "/a", "a b", "a\n", "\na", "tab\t", "ü", "a:b", "x*", "../up"]
    )
    def test_invalid_names_are_rejected(self, name: str) -> None:
        broker = InMemoryBroker()
        ctx = local_context(GUEST, broker)
        with pytest.raises(ValueError, match="invalid tag component"):
            ctx.sub(name)
        with pytest.raises(ValueError, match="invalid tag component"):
            ctx.arbiter.put(name, 1)
        with pytest.raises(ValueError, match="invalid tag component"):
            ctx.arbiter.get(name, timeout=0.01)
        assert broker._boxes == {}  # nothing was sent

    @pytest.mark.parametrize("name", ["a", "A-b_c.d", "0", "iter-10", "..", "x" * 200])
    def test_valid_names(self, name: str) -> None:
        broker = InMemoryBroker()
        local_context(GUEST, broker).sub("ns").arbiter.put(name, None)
        assert tag_sent(broker, GUEST, ARBITER, f"ns/{name}")


@pytest.mark.unit
class TestContext:
    def test_sending_to_self_is_rejected(self) -> None:
        broker = InMemoryBroker()
        with pytest.raises(FederationError, match="itself"):
            local_context(GUEST, broker).guest.put("x", 1)
        with pytest.raises(FederationError, match="itself"):
            local_context(ARBITER, broker).arbiter.put("x", 1)
        with pytest.raises(FederationError, match="itself"):
            local_context(HOST2, broker).hosts[1].put("x", 1)
        assert broker._boxes == {}

    def test_properties(self) -> None:
        ctx = local_context(HOST2, InMemoryBroker(), job_id="job-42")
        assert (ctx.role, ctx.party_id, ctx.job_id) == ("host", 10001, "job-42")
        assert (ctx.is_guest, ctx.is_host, ctx.is_arbiter) == (False, True, False)
        assert [h.party for h in ctx.hosts] == [HOST1, HOST2] and len(ctx.hosts) == 2
        assert ctx.guest.party == GUEST and ctx.arbiter.party == ARBITER
        assert "guest 9999" in repr(ctx.guest)

    def test_local_party_must_take_part(self) -> None:
        messenger = Messenger(InMemoryTransport(), "j", Party("host", 1))
        with pytest.raises(ValueError, match="does not take part"):
            Context(local=Party("host", 1), parties=JOB, messenger=messenger)
        with pytest.raises(ValueError, match="does not take part"):
            Context(local=Party("guest", 10000), parties=JOB, messenger=messenger)

    def test_missing_roles(self) -> None:
        parties = JobParties.of(guest=1, hosts=[2])
        messenger = Messenger(InMemoryTransport(), "j", Party("guest", 1))
        ctx = Context(local=Party("guest", 1), parties=parties, messenger=messenger)
        with pytest.raises(FederationError, match="no arbiter"):
            _ = ctx.arbiter
        host_only = Context(
            local=Party("host", 2),
            parties=JobParties.of(hosts=[2, 3]),
            messenger=Messenger(InMemoryTransport(), "j", Party("host", 2)),
        )
        with pytest.raises(FederationError, match="no guest"):
            _ = host_only.guest

    def test_get_timeout_names_the_peer_and_tag(self) -> None:
        ctx = local_context(GUEST, InMemoryBroker()).sub("ns")
        with pytest.raises(FederationTimeout) as info:
            ctx.hosts[0].get("nothing", timeout=0.05)
        assert "host 10000" in str(info.value) and "ns/nothing" in str(info.value)

    def test_observer_sees_every_received_value(self) -> None:
        broker = InMemoryBroker()
        seen: list[tuple[Party, str, Any]] = []
        host = Context(
            local=HOST1,
            parties=JOB,
            messenger=Messenger(InMemoryTransport(broker), "job-ctx", HOST1, timeout=1.0),
            observer=lambda src, tag, value: seen.append((src, tag, value)),
        )
        guest = local_context(GUEST, broker)
        guest.hosts.put("w", [1, 2])
        guest.sub("s").hosts[0].put("v", {"k": "x"})
        assert host.guest.get("w") == [1, 2]
        assert host.sub("s").guest.get("v") == {"k": "x"}
        assert seen == [(GUEST, "w", [1, 2]), (GUEST, "s/v", {"k": "x"})]


@pytest.mark.integration
class TestRunParties:
    def test_put_get_between_all_roles(self) -> None:
        def guest(ctx: Context) -> Any:
            ctx.hosts.put("hello", "from guest")
            ctx.arbiter.put("loss", 0.25)
            return ctx.hosts.get("reply")

        def host(ctx: Context) -> Any:
            greeting = ctx.guest.get("hello")
            ctx.guest.put("reply", f"{ctx.party_id}: {greeting}")
            return ctx.arbiter.get("weights").tolist()

        def arbiter(ctx: Context) -> Any:
            ctx.hosts.put("weights", np.array([0.5, -1.0]))
            return ctx.guest.get("loss")

        result = run_parties(
            JOB, {GUEST: guest, HOST1: host, HOST2: host, ARBITER: arbiter}, timeout=10.0
        )
        assert result.results == {
            GUEST: ["10000: from guest", "10001: from guest"],
            HOST1: [0.5, -1.0],
            HOST2: [0.5, -1.0],
            ARBITER: 0.25,
        }

    def test_hosts_get_is_in_party_order_whatever_the_arrival_order(self) -> None:
        def guest(ctx: Context) -> Any:
            return ctx.hosts.get("id")

        def host(ctx: Context) -> Any:
            if ctx.party_id == 10000:
                time.sleep(0.3)  # the first host answers last
            ctx.guest.put("id", ctx.party_id)

        def arbiter(ctx: Context) -> Any:
            return None

        result = run_parties(
            JOB, {GUEST: guest, HOST1: host, HOST2: host, ARBITER: arbiter}, timeout=10.0
        )
        assert result.results[GUEST] == [10000, 10001]

    def test_observer_records_src_tag_and_value(self) -> None:
        def guest(ctx: Context) -> None:
            for i, it in ctx.sub("lr").iterations(2):
                it.hosts.put("fw", i)
                it.arbiter.put("loss", float(i))
            return None

        def host(ctx: Context) -> Any:
            return [it.guest.get("fw") for _, it in ctx.sub("lr").iterations(2)]

        def arbiter(ctx: Context) -> Any:
            return [it.guest.get("loss") for _, it in ctx.sub("lr").iterations(2)]

        job_id = "job-observer"
        result = run_parties(
            JOB,
            {GUEST: guest, HOST1: host, HOST2: host, ARBITER: arbiter},
            job_id=job_id,
            timeout=10.0,
        )
        assert result.results[HOST1] == result.results[HOST2] == [0, 1]
        assert result.received[GUEST] == []
        assert result.received[HOST2] == [
            Received(GUEST, "lr/iter-0/fw", 0),
            Received(GUEST, "lr/iter-1/fw", 1),
        ]
        assert result.received[ARBITER] == [
            Received(GUEST, "lr/iter-0/loss", 0.0),
            Received(GUEST, "lr/iter-1/loss", 1.0),
        ]

    def test_job_id_and_chunk_size_reach_the_messenger(self) -> None:
        big = np.arange(10_000, dtype=np.float64)
        seen: dict[str, Any] = {}

        def guest(ctx: Context) -> Any:
            seen["job"], seen["chunk"] = ctx.job_id, ctx.messenger.chunk_size
            ctx.hosts.put("big", big)
            return None

        def host(ctx: Context) -> Any:
            return bool(np.array_equal(ctx.guest.get("big"), big))

        result = run_parties(
            JobParties.of(guest=1, hosts=[2]),
            {Party("guest", 1): guest, Party("host", 2): host},
            job_id="job-chunks",
            chunk_size=1000,
            timeout=10.0,
        )
        assert result.results[Party("host", 2)] is True
        assert seen == {"job": "job-chunks", "chunk": 1000}

    def test_encrypted_round_trip_between_parties(self) -> None:
        pk, sk = generate_paillier_keypair(512)

        def arbiter(ctx: Context) -> Any:
            ctx.guest.put("pubkey", pk)
            ctx.hosts.put("pubkey", pk)
            return sk.decrypt(ctx.guest.get("total")).tolist()

        def guest(ctx: Context) -> Any:
            key = ctx.arbiter.get("pubkey")
            partials = ctx.hosts.get("enc")
            total = partials[0] + partials[1] + key.encrypt([1.0, 1.0])
            ctx.arbiter.put("total", total.rerandomize())

        def host(ctx: Context) -> Any:
            key = ctx.arbiter.get("pubkey")
            ctx.guest.put("enc", key.encrypt([float(ctx.party_id), -0.5]))

        tasks = {GUEST: guest, HOST1: host, HOST2: host, ARBITER: arbiter}
        result = run_parties(JOB, tasks, keyring=small_key_ring, timeout=10.0)
        assert result.results[ARBITER] == [20002.0, 0.0]
        # The default policy refuses a 512-bit key: the arbiter cannot even send it.
        with pytest.raises(PartyFailed) as info:
            run_parties(JOB, tasks, timeout=10.0)
        assert info.value.party == ARBITER and isinstance(info.value.error, SerdeError)

    def test_missing_task(self) -> None:
        def noop(ctx: Context) -> None:
            return None

        with pytest.raises(ValueError, match=r"no task for host 10001"):
            run_parties(JOB, {GUEST: noop, HOST1: noop, ARBITER: noop})
        with pytest.raises(ValueError, match=r"no task for arbiter 10002, guest 9999"):
            run_parties(JOB, {HOST1: noop, HOST2: noop})

    def test_failing_party_is_named_and_peers_do_not_hang(self) -> None:
        peer_errors: dict[Party, BaseException] = {}
        lock = threading.Lock()

        def record(ctx: Context, wait: Callable[[], Any]) -> Any:
            try:
                return wait()
            except FederationError as exc:
                with lock:
                    peer_errors[ctx.local] = exc
                raise

        def guest(ctx: Context) -> Any:
            ctx.hosts.put("start", True)
            return record(ctx, lambda: ctx.hosts[1].get("never"))

        def host(ctx: Context) -> Any:
            ctx.guest.get("start")
            return record(ctx, lambda: ctx.guest.get("x"))

        def arbiter(ctx: Context) -> Any:
            return record(ctx, lambda: ctx.guest.get("y"))

        def failing(ctx: Context) -> Any:
            ctx.guest.get("start")
            raise RuntimeError("boom in host 2")

        started = time.monotonic()
        with pytest.raises(PartyFailed) as info:
            run_parties(
                JOB,
                {GUEST: guest, HOST1: host, HOST2: failing, ARBITER: arbiter},
                timeout=60.0,
            )
        assert time.monotonic() - started < 10.0  # far below the 60 s receive timeout
        failed = info.value
        assert failed.party == HOST2
        assert isinstance(failed.error, RuntimeError) and failed.__cause__ is failed.error
        assert "host 10001" in str(failed) and "boom in host 2" in str(failed)
        assert set(peer_errors) == {GUEST, HOST1, ARBITER}
        assert all(isinstance(e, FederationAborted) for e in peer_errors.values())

    def test_protocol_bug_fails_within_the_timeout(self) -> None:
        def guest(ctx: Context) -> Any:
            return ctx.arbiter.get("never-sent")

        def quiet(ctx: Context) -> None:
            return None

        started = time.monotonic()
        with pytest.raises(PartyFailed) as info:
            run_parties(
                JOB, {GUEST: guest, HOST1: quiet, HOST2: quiet, ARBITER: quiet}, timeout=0.3
            )
        assert time.monotonic() - started < 5.0
        assert info.value.party == GUEST
        assert isinstance(info.value.error, FederationTimeout)
        assert "never-sent" in str(info.value) and "arbiter 10002" in str(info.value)

    def test_shared_transport_only_aborts_the_failed_job(self) -> None:
        transport = InMemoryTransport()

        def failing(ctx: Context) -> Any:
            raise ValueError("nope")

        def fine(ctx: Context) -> Any:
            return ctx.role

        parties = JobParties.of(guest=1, hosts=[2])
        g, h = Party("guest", 1), Party("host", 2)
        with pytest.raises(PartyFailed):
            run_parties(parties, {g: failing, h: fine}, transport=transport, job_id="bad")
        result = run_parties(parties, {g: fine, h: fine}, transport=transport, job_id="good")
        assert result.results == {g: "guest", h: "host"}
