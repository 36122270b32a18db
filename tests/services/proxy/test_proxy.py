"""The proxy service: bounded streaming, forwarding, control relay, health, __main__."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest

from fedloom._proto import proxy_pb2, proxy_pb2_grpc
from fedloom.federation import FederationError, GrpcTransport, Messenger, Party
from services.common.contracts import ControlReply, ControlRequest
from services.proxy.client import ProxyClient, ProxyClientError
from services.proxy.mailbox import MemoryMailbox
from services.proxy.server import start_proxy
from services.proxy.settings import ProxySettings

MiB = 1024 * 1024
GUEST, HOST = Party("guest", 9999), Party("host", 10000)


# -- streaming through two proxies --------------------------------------------------------------


@pytest.mark.integration
class TestBoundedStreaming:
    def test_64_mib_cross_two_proxies_within_the_mailbox_bound(self, start_proxies: Any) -> None:
        bound = 8 * MiB
        group = start_proxies((9999, 10000), max_mailbox_bytes=bound, max_chunk_bytes=MiB)
        sender_t = GrpcTransport(group.address(9999), timeout=30)
        receiver_t = GrpcTransport(group.address(10000), timeout=30)
        try:
            mailbox = group.mailbox(10000)
            assert isinstance(mailbox, MemoryMailbox)
            payload = os.urandom(64 * MiB)
            sender = Messenger(sender_t, "big-job", GUEST, chunk_size=MiB, timeout=30)
            receiver = Messenger(receiver_t, "big-job", HOST, chunk_size=MiB, timeout=30)
            thread = threading.Thread(target=sender.send, args=(HOST, "big", payload))
            thread.start()
            deadline = time.monotonic() + 20
            while mailbox.total_bytes < bound - MiB - 4096 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)
            assert thread.is_alive()  # the full mailbox holds the sender back
            assert mailbox.total_bytes <= bound
            assert receiver.recv(GUEST, "big") == payload
            thread.join(10)
            assert not thread.is_alive()
            assert mailbox.peak_bytes <= bound
            forwarder = group.mailbox(9999)
            assert isinstance(forwarder, MemoryMailbox) and forwarder.peak_bytes == 0
        finally:
            sender_t.close()
            receiver_t.close()
            group.stop()

    def test_push_into_a_mailbox_nobody_drains_fails_naming_the_party(
        self, start_proxies: Any
    ) -> None:
        group = start_proxies(
            (9999, 10000), max_mailbox_bytes=2 * MiB, max_chunk_bytes=MiB, push_wait_s=0.3
        )
        try:
            with closing(GrpcTransport(group.address(9999), timeout=10)) as transport:
                sender = Messenger(transport, "stuck", GUEST, chunk_size=MiB)
                with pytest.raises(FederationError) as info:
                    sender.send(HOST, "t", b"\0" * (3 * MiB))
            assert "RESOURCE_EXHAUSTED" in str(info.value)
            assert "party 10000" in str(info.value) and "not pulling" in str(info.value)
        finally:
            group.stop()

    def test_a_pull_given_up_by_its_caller_loses_no_envelope(self, start_proxies: Any) -> None:
        group = start_proxies((9999, 10000))
        channel = grpc.insecure_channel(group.address(10000))
        try:
            stub = proxy_pb2_grpc.ProxyStub(channel)
            request = proxy_pb2.PullRequest(
                job_id="j",
                src=proxy_pb2.PartyRef(role="guest", party_id=9999),
                dst=proxy_pb2.PartyRef(role="host", party_id=10000),
                tag="t",
                timeout_s=30,
            )
            with pytest.raises(grpc.RpcError) as info:
                stub.Pull(request, timeout=0.2)  # the caller gives up; the proxy still waits
            assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            with closing(GrpcTransport(group.address(9999), timeout=10)) as sender:
                messenger = Messenger(sender, "j", GUEST)
                for i in range(3):
                    messenger.send(HOST, "t", f"m{i}".encode())
            with closing(GrpcTransport(group.address(10000), timeout=10)) as receiver:
                messenger = Messenger(receiver, "j", HOST, timeout=5)
                assert [messenger.recv(GUEST, "t") for _ in range(3)] == [b"m0", b"m1", b"m2"]
        finally:
            channel.close()
            group.stop()


@pytest.mark.integration
class TestForwarding:
    def test_forwarding_is_retried_until_the_peer_proxy_comes_up(
        self, start_proxies: Any, free_tcp_port: int
    ) -> None:
        peer_address = f"127.0.0.1:{free_tcp_port}"
        group = start_proxies((9999,), extra_routes={10000: peer_address})
        peer = None
        try:
            with closing(GrpcTransport(group.address(9999), timeout=10)) as sender:
                thread = threading.Thread(
                    target=Messenger(sender, "late", GUEST).send, args=(HOST, "t", b"hello")
                )
                thread.start()
                time.sleep(0.3)
                assert thread.is_alive()  # the guest's proxy retries the host's proxy
                peer = start_proxy(
                    ProxySettings(
                        party_id=10000,
                        proxy_listen=peer_address,
                        routes={9999: group.address(9999)},
                        redis_url=None,
                    )
                )
                thread.join(10)
                assert not thread.is_alive()
            with closing(GrpcTransport(peer_address, timeout=10)) as receiver:
                assert Messenger(receiver, "late", HOST).recv(GUEST, "t", 5) == b"hello"
        finally:
            group.stop()
            if peer is not None:
                peer.stop(0)


# -- control messages ---------------------------------------------------------------------------


class FakeFlow:
    """A tiny HTTP server standing in for a flow's ``POST /internal/v1/control``."""

    def __init__(self, party_id: int, answer: Callable[[dict[str, Any]], tuple[int, str]]) -> None:
        self.party_id = party_id
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        flow = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                flow.requests.append((self.path, self.headers.get("Authorization", ""), body))
                status, text = answer(body)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ping_answer(party_id: int) -> Callable[[dict[str, Any]], tuple[int, str]]:
    def answer(body: dict[str, Any]) -> tuple[int, str]:
        if body["kind"] == "job_status":
            return 500, "database is locked"
        if body["kind"] == "cancel_job":
            return 200, ControlReply(ok=False, error="no such job").model_dump_json()
        return 200, ControlReply(ok=True, body={"party_id": party_id}).model_dump_json()

    return answer


@pytest.mark.integration
class TestControl:
    @pytest.fixture(scope="class")
    @classmethod
    def site(cls, start_proxies: Any) -> Iterator[tuple[Any, dict[int, FakeFlow]]]:
        flows = {p: FakeFlow(p, ping_answer(p)) for p in (9999, 10000)}
        group = start_proxies(
            (9999, 10000),
            extra_routes={10002: "127.0.0.1:1"},  # a party whose proxy is down
            control_timeout_s=1.0,
            per_party={p: {"flow_url": f.url, "token": f"token-{p}"} for p, f in flows.items()},
        )
        yield group, flows
        group.stop()
        for flow in flows.values():
            flow.stop()

    @pytest.fixture
    def client(self, site: tuple[Any, dict[int, FakeFlow]]) -> Iterator[ProxyClient]:
        with ProxyClient(site[0].address(9999), timeout=10) as client:
            yield client

    def test_control_crosses_both_proxies_to_the_peer_flow(
        self, client: ProxyClient, site: tuple[Any, dict[int, FakeFlow]]
    ) -> None:
        request = ControlRequest(src_party_id=9999, dst_party_id=10000, kind="ping", job_id="j1")
        reply = client.control(request)
        assert reply == ControlReply(ok=True, body={"party_id": 10000})
        path, auth, body = site[1][10000].requests[-1]
        assert path == "/internal/v1/control"
        assert auth == "Bearer token-10000"
        assert ControlRequest.model_validate(body) == request

    def test_control_to_this_party_goes_to_the_own_flow(
        self, client: ProxyClient, site: tuple[Any, dict[int, FakeFlow]]
    ) -> None:
        reply = client.control(ControlRequest(src_party_id=9999, dst_party_id=9999, kind="ping"))
        assert reply.body == {"party_id": 9999}
        assert site[1][9999].requests[-1][1] == "Bearer token-9999"

    def test_flow_errors_become_replies_naming_the_party(self, client: ProxyClient) -> None:
        failed = client.control(
            ControlRequest(src_party_id=9999, dst_party_id=10000, kind="job_status")
        )
        assert not failed.ok
        assert (
            "flow of party 10000 answered HTTP 500 to job_status: database is locked"
            in failed.error
        )
        refused = client.control(
            ControlRequest(src_party_id=9999, dst_party_id=10000, kind="cancel_job")
        )
        assert refused == ControlReply(ok=False, error="no such job")

    def test_unreachable_party(self, client: ProxyClient) -> None:
        started = time.monotonic()
        reply = client.control(ControlRequest(src_party_id=9999, dst_party_id=10002, kind="ping"))
        assert not reply.ok and "party 10002 unreachable" in reply.error
        assert time.monotonic() - started < 5.0
        unknown = client.control(ControlRequest(src_party_id=9999, dst_party_id=10005, kind="ping"))
        assert not unknown.ok
        assert "no route to party 10005 in the route table of party 9999" in unknown.error

    def test_unrouted_source_is_refused(self, client: ProxyClient) -> None:
        reply = client.control(ControlRequest(src_party_id=10050, dst_party_id=9999, kind="ping"))
        assert not reply.ok
        assert "party 10050 is not in the route table of party 9999" in reply.error

    def test_malformed_control_json_is_invalid_argument(
        self, site: tuple[Any, dict[int, FakeFlow]]
    ) -> None:
        with grpc.insecure_channel(site[0].address(9999)) as channel:
            stub = proxy_pb2_grpc.ProxyStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                stub.Control(proxy_pb2.ControlMessage(json=b'{"kind": "ping"}'), timeout=5)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "src_party_id" in info.value.details()

    def test_health(self, client: ProxyClient) -> None:
        assert client.health() == {"status": "ok", "party_id": 9999}

    def test_flow_down_is_a_reply_naming_the_party(
        self, start_proxies: Any, free_tcp_port: int
    ) -> None:
        group = start_proxies(
            (9999,), control_timeout_s=0.5, flow_url=f"http://127.0.0.1:{free_tcp_port}"
        )
        try:
            with ProxyClient(group.address(9999)) as client:
                reply = client.control(
                    ControlRequest(src_party_id=9999, dst_party_id=9999, kind="ping")
                )
            assert not reply.ok and "flow of party 9999 unreachable" in reply.error
        finally:
            group.stop()

    def test_proxy_down_raises_naming_the_address(self, free_tcp_port: int) -> None:
        address = f"127.0.0.1:{free_tcp_port}"
        with ProxyClient(address, timeout=0.3) as client:
            with pytest.raises(ProxyClientError, match=f"{address} is not healthy: UNAVAILABLE"):
                client.health(timeout=0.3)
            with pytest.raises(ProxyClientError, match=f"ping to party 10000 via proxy {address}"):
                client.control(ControlRequest(src_party_id=9999, dst_party_id=10000, kind="ping"))


# -- python -m services.proxy -------------------------------------------------------------------


@pytest.mark.integration
class TestMain:
    def env(self, port: int, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("FEDLOOM_")}
        return {
            **base,
            "FEDLOOM_PARTY_ID": "9999",
            "FEDLOOM_PROXY_LISTEN": f"127.0.0.1:{port}",
            "FEDLOOM_ROUTES": '{"10000": "127.0.0.1:9371"}',
            "REDIS_URL": "",
            **extra,
        }

    def test_runs_until_sigterm(self, free_tcp_port: int) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.proxy"],
            env=self.env(free_tcp_port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            with ProxyClient(f"127.0.0.1:{free_tcp_port}") as client:
                assert client.health(timeout=20) == {"status": "ok", "party_id": 9999}
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        assert proc.returncode == 0, stderr
        assert "proxy of party 9999 listening on 127.0.0.1" in stderr
        assert "stopped" in stderr

    def test_invalid_settings_exit_2_naming_the_variable(self, free_tcp_port: int) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "services.proxy"],
            env=self.env(free_tcp_port, FEDLOOM_ROUTES='{"bank": "127.0.0.1:1"}'),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2
        assert "FEDLOOM_ROUTES: key 'bank' is not a party id" in result.stderr
