"""mTLS between proxies: public listeners, certificates that name parties, and refusals.

A throwaway CA and party certificates are generated per module (``services.proxy.pki``, python
``cryptography``); a second, unrelated CA plays the attacker.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from pydantic import ValidationError

from fedloom._proto import proxy_pb2, proxy_pb2_grpc
from fedloom.federation import FederationError, GrpcTransport, Messenger, Party
from services.common.contracts import ControlRequest
from services.proxy.client import ProxyClient, ProxyClientError
from services.proxy.mailbox import MemoryMailbox
from services.proxy.pki import issue_party_cert, new_ca, write_party_files
from services.proxy.server import RunningProxy, start_proxy
from services.proxy.settings import ProxySettings
from services.proxy.tls import TlsConfig, channel_credentials, load_tls

pytestmark = pytest.mark.integration

GUEST, HOST, ARBITER = Party("guest", 9999), Party("host", 10000), Party("arbiter", 10001)
TOKEN = "t" * 24
PING = ControlRequest(src_party_id=9999, dst_party_id=10000, kind="ping")


def free_port() -> int:
    with socket.socket() as sock:  # a port free a moment ago
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Pki:
    """Certificate files: ``<dir>/<name>/{tls.crt,tls.key,ca.crt}``."""

    dir: Path

    def files(self, name: str | int) -> dict[str, Path]:
        d = self.dir / str(name)
        return {"tls_cert": d / "tls.crt", "tls_key": d / "tls.key", "tls_ca": d / "ca.crt"}

    def tls(self, name: str | int) -> TlsConfig:
        f = self.files(name)
        tls = load_tls(f["tls_cert"], f["tls_key"], f["tls_ca"])
        assert tls is not None
        return tls


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("pki")
    ca, rogue_ca = new_ca(), new_ca("rogue CA")
    for party in (9999, 10000, 10001):
        write_party_files(base / str(party), ca, issue_party_cert(ca, party))
    # Certificates for party 9999 and 10000 from another CA; the rogue trusts the real CA, so
    # only the receiving side can refuse it.
    write_party_files(base / "rogue-9999", ca, issue_party_cert(rogue_ca, 9999))
    write_party_files(base / "rogue-10000", rogue_ca, issue_party_cert(rogue_ca, 10000))
    (base / "rogue-10000" / "ca.crt").write_bytes(ca.cert)
    return Pki(base)


class FlowStub(ThreadingHTTPServer):
    """A flow's control endpoint that answers every message with ``{"party_id", "kind"}``."""

    def __init__(self, party_id: int) -> None:
        self.requests: list[dict[str, Any]] = []
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                requests.append(body)
                reply = {"ok": True, "body": {"party_id": party_id, "kind": body["kind"]}}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


def start_tls_proxies(
    pki: Pki,
    parties: tuple[int, ...],
    *,
    certs: dict[int, str] | None = None,
    extra_routes: dict[int, str] | None = None,
    **settings: Any,
) -> dict[int, RunningProxy]:
    """Proxies with site-local and mTLS public listeners on loopback, routed to each other's
    public listeners (plus ``extra_routes``); ``certs[party]``: another certificate directory."""
    public = {p: f"127.0.0.1:{free_port()}" for p in parties}
    table = {**public, **(extra_routes or {})}
    started: dict[int, RunningProxy] = {}
    try:
        for party in parties:
            config = ProxySettings(
                party_id=party,
                proxy_listen=f"127.0.0.1:{free_port()}",
                proxy_public_listen=public[party],
                routes={p: address for p, address in table.items() if p != party},
                redis_url=None,
                token=TOKEN,
                **pki.files((certs or {}).get(party, party)),
                **settings,
            )
            started[party] = start_proxy(config)
    except BaseException:
        for proxy in started.values():
            proxy.stop(0)
        raise
    return started


@pytest.fixture
def pair(pki: Pki) -> Iterator[dict[int, RunningProxy]]:
    """mTLS proxies of 9999 and 10000 that also route to 10001 (whose proxy is not running)."""
    proxies = start_tls_proxies(
        pki, (9999, 10000), extra_routes={10001: "127.0.0.1:1"}, forward_timeout_s=3
    )
    yield proxies
    for proxy in proxies.values():
        proxy.stop(0)


def peer_stub(proxy: RunningProxy, tls: TlsConfig, server: int) -> proxy_pb2_grpc.ProxyStub:
    """A raw client of ``proxy``'s public listener presenting ``tls``'s certificate."""
    channel = grpc.secure_channel(
        proxy.public_address,
        channel_credentials(tls),
        options=[("grpc.ssl_target_name_override", f"party-{server}")],
    )
    return proxy_pb2_grpc.ProxyStub(channel)


def envelope(src: Party, dst: Party, payload: bytes = b"x") -> proxy_pb2.Envelope:
    return proxy_pb2.Envelope(
        job_id="job-tls",
        src=proxy_pb2.PartyRef(role=src.role, party_id=src.party_id),
        dst=proxy_pb2.PartyRef(role=dst.role, party_id=dst.party_id),
        tag="t",
        chunk_count=1,
        payload=payload,
    )


# -- two proxies with mTLS ----------------------------------------------------------------------


def test_envelopes_cross_two_mtls_proxies_both_ways(pair: dict[int, RunningProxy]) -> None:
    guest_t = GrpcTransport(pair[9999].address, timeout=10)
    host_t = GrpcTransport(pair[10000].address, timeout=10)
    try:
        guest = Messenger(guest_t, "job-tls", GUEST, chunk_size=1024, timeout=10)
        host = Messenger(host_t, "job-tls", HOST, chunk_size=1024, timeout=10)
        payload = os.urandom(10_000)  # ten chunks, each its own mTLS forward
        guest.send(HOST, "forward", payload)
        assert host.recv(GUEST, "forward") == payload
        host.send(GUEST, "backward", b"reply")
        assert guest.recv(HOST, "backward") == b"reply"
    finally:
        guest_t.close()
        host_t.close()


def test_control_messages_cross_two_mtls_proxies(pki: Pki) -> None:
    flow = FlowStub(10000)
    proxies = start_tls_proxies(pki, (9999, 10000), control_timeout_s=5)
    try:
        proxies[10000].servicer.settings.flow_url = flow.url
        with ProxyClient(proxies[9999].address, timeout=10) as client:
            reply = client.control(
                ControlRequest(src_party_id=9999, dst_party_id=10000, kind="ping")
            )
        assert reply.ok, reply.error
        assert reply.body == {"party_id": 10000, "kind": "ping"}
        assert [r["src_party_id"] for r in flow.requests] == [9999]
    finally:
        flow.shutdown()
        flow.server_close()
        for proxy in proxies.values():
            proxy.stop(0)


def test_peers_reach_health_over_mtls_only(pki: Pki, pair: dict[int, RunningProxy]) -> None:
    host = pair[10000]
    creds = channel_credentials(pki.tls(10001))
    with ProxyClient(host.public_address, credentials=creds, server_name="party-10000") as client:
        assert client.health() == {"status": "ok", "party_id": 10000}
    # The certificate must name the party the client means to reach.
    with ProxyClient(host.public_address, credentials=creds, server_name="party-10001") as client:
        with pytest.raises(ProxyClientError, match="UNAVAILABLE"):
            client.health(timeout=1)
    # Without a client certificate the handshake fails; plaintext gets nowhere either.
    no_cert = grpc.ssl_channel_credentials(root_certificates=pki.tls(10001).ca)
    for kwargs in ({"credentials": no_cert, "server_name": "party-10000"}, {}):
        with ProxyClient(host.public_address, **kwargs) as client:
            with pytest.raises(ProxyClientError, match="UNAVAILABLE"):
                client.health(timeout=1)


# -- refusals -----------------------------------------------------------------------------------


def test_a_peer_with_a_certificate_from_another_ca_is_refused(
    pki: Pki, pair: dict[int, RunningProxy]
) -> None:
    stub = peer_stub(pair[10000], pki.tls("rogue-9999"), server=10000)
    with pytest.raises(grpc.RpcError) as info:
        stub.Push(iter([envelope(GUEST, HOST)]), timeout=2)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE  # the handshake fails
    mailbox = pair[10000].servicer.mailbox
    assert isinstance(mailbox, MemoryMailbox) and mailbox.total_bytes == 0


def test_a_proxy_does_not_forward_to_a_server_with_a_certificate_from_another_ca(
    pki: Pki,
) -> None:
    proxies = start_tls_proxies(
        pki, (9999, 10000), certs={10000: "rogue-10000"}, forward_timeout_s=1
    )
    try:
        with closing(GrpcTransport(proxies[9999].address, timeout=2)) as transport:
            sender = Messenger(transport, "job-tls", GUEST, timeout=2)
            with pytest.raises(FederationError, match="party 10000 unreachable"):
                sender.send(HOST, "t", b"payload")
    finally:
        for proxy in proxies.values():
            proxy.stop(0)


def test_a_certificate_naming_another_party_than_src_is_refused(
    pki: Pki, pair: dict[int, RunningProxy]
) -> None:
    # party 10001 is in the route table and holds a valid certificate, but claims to be 9999
    stub = peer_stub(pair[10000], pki.tls(10001), server=10000)
    with pytest.raises(grpc.RpcError) as info:
        stub.Push(iter([envelope(GUEST, HOST)]), timeout=5)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "claims src party 9999" in str(info.value.details())
    assert "names party-10001" in str(info.value.details())
    message = proxy_pb2.ControlMessage(json=PING.model_dump_json().encode())
    with pytest.raises(grpc.RpcError) as info:
        stub.Control(message, timeout=5)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "control message ping claims src party 9999" in str(info.value.details())
    # Under its own name the same peer is accepted.
    assert stub.Push(iter([envelope(ARBITER, HOST)]), timeout=5).accepted == 1


def test_a_proxy_using_another_partys_certificate_is_refused(pki: Pki) -> None:
    proxies = start_tls_proxies(
        pki, (9999, 10000), certs={9999: "10001"}, forward_timeout_s=2, control_timeout_s=2
    )
    try:
        with closing(GrpcTransport(proxies[9999].address, timeout=5)) as transport:
            sender = Messenger(transport, "job-tls", GUEST, timeout=5)
            with pytest.raises(FederationError) as info:
                sender.send(HOST, "t", b"payload")
        assert "PERMISSION_DENIED" in str(info.value) and "party-10001" in str(info.value)
        with ProxyClient(proxies[9999].address, timeout=5) as client:
            reply = client.control(
                ControlRequest(src_party_id=9999, dst_party_id=10000, kind="ping")
            )
        assert not reply.ok
        assert "proxy of party 10000" in reply.error and "refused" in reply.error
        assert "claims src party 9999" in reply.error
    finally:
        for proxy in proxies.values():
            proxy.stop(0)


def test_the_public_listener_refuses_pull_abort_and_relaying(
    pki: Pki, pair: dict[int, RunningProxy]
) -> None:
    stub = peer_stub(pair[10000], pki.tls(10001), server=10000)
    sent = envelope(ARBITER, HOST)
    pull = proxy_pb2.PullRequest(job_id="job-tls", src=sent.src, dst=sent.dst, timeout_s=0.1)
    calls = {
        "Pull": lambda: stub.Pull(pull, timeout=5),
        "Abort": lambda: stub.Abort(proxy_pb2.AbortRequest(job_id="job-tls"), timeout=5),
        "relay": lambda: stub.Push(iter([envelope(ARBITER, GUEST)]), timeout=5),
    }
    for name, call in calls.items():
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED, name
        assert "party 10000" in str(info.value.details()), name


def test_the_site_listener_accepts_only_its_own_party(pair: dict[int, RunningProxy]) -> None:
    with grpc.insecure_channel(pair[10000].address) as channel:
        with pytest.raises(grpc.RpcError) as info:
            proxy_pb2_grpc.ProxyStub(channel).Push(iter([envelope(GUEST, HOST)]), timeout=5)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "peers must use the public listener" in str(info.value.details())


# -- settings and startup -----------------------------------------------------------------------


def test_tls_settings_must_be_complete_and_need_a_public_listener(pki: Pki) -> None:
    files = pki.files(9999)
    with pytest.raises(ValidationError, match=r"missing .*FEDLOOM_TLS_CA"):
        ProxySettings(party_id=9999, proxy_public_listen="127.0.0.1:1", tls_cert=files["tls_cert"])
    with pytest.raises(ValidationError, match="set FEDLOOM_PROXY_PUBLIC_LISTEN"):
        ProxySettings(party_id=9999, **files)


def test_an_unreadable_key_fails_startup_naming_the_setting(pki: Pki, tmp_path: Path) -> None:
    files = {**pki.files(9999), "tls_key": tmp_path / "missing.key"}
    config = ProxySettings(
        party_id=9999,
        proxy_listen=f"127.0.0.1:{free_port()}",
        proxy_public_listen=f"127.0.0.1:{free_port()}",
        **files,
    )
    with pytest.raises(OSError, match=r"FEDLOOM_TLS_KEY: cannot read .*missing\.key"):
        start_proxy(config)


def test_main_serves_both_listeners_from_the_environment(pki: Pki) -> None:
    local, public = free_port(), free_port()
    files = pki.files(10000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDLOOM_")}
    env.update(
        FEDLOOM_PARTY_ID="10000",
        FEDLOOM_PROXY_LISTEN=f"127.0.0.1:{local}",
        FEDLOOM_PROXY_PUBLIC_LISTEN=f"127.0.0.1:{public}",
        FEDLOOM_ROUTES='{"10001": "127.0.0.1:1"}',
        FEDLOOM_TLS_CERT=str(files["tls_cert"]),
        FEDLOOM_TLS_KEY=str(files["tls_key"]),
        FEDLOOM_TLS_CA=str(files["tls_ca"]),
        REDIS_URL="",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.proxy"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with ProxyClient(f"127.0.0.1:{local}") as client:
            assert client.health(timeout=20)["party_id"] == 10000
        creds = channel_credentials(pki.tls(10001))
        with ProxyClient(
            f"127.0.0.1:{public}", credentials=creds, server_name="party-10000"
        ) as client:
            assert client.health(timeout=10)["party_id"] == 10000
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, stderr
    assert f"peers on 127.0.0.1:{public} (mTLS)" in stderr
    assert "without TLS" not in stderr


def test_site_config_passes_the_public_listener_and_tls_files(pki: Pki, tmp_path: Path) -> None:
    from services.site import SiteConfig

    base = {"party_id": 9999, "token": TOKEN, "proxy_port": 9370, "flow_port": 9380}
    plain = SiteConfig(**base, data_dir=tmp_path).environment()
    assert not any(k.startswith(("FEDLOOM_TLS_", "FEDLOOM_PROXY_PUBLIC")) for k in plain)
    files = pki.files(9999)
    env = SiteConfig(
        **base, data_dir=tmp_path, proxy_public_listen="0.0.0.0:9371", **files
    ).environment()
    assert env["FEDLOOM_PROXY_PUBLIC_LISTEN"] == "0.0.0.0:9371"
    assert env["FEDLOOM_PROXY_LISTEN"] == "127.0.0.1:9370"
    assert env["FEDLOOM_TLS_CERT"] == str(files["tls_cert"])
    assert env["FEDLOOM_TLS_KEY"] == str(files["tls_key"])
    assert env["FEDLOOM_TLS_CA"] == str(files["tls_ca"])
