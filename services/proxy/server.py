"""The proxy's gRPC server: mailbox for this party, forwarding to peer proxies, control relay."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
import httpx

from fedloom._proto import proxy_pb2, proxy_pb2_grpc
from fedloom.federation.grpc_transport import call_with_retry, party_from_proto
from services.common.contracts import ControlReply, ControlRequest
from services.proxy.control import TRANSIENT, deliver_to_flow, describe, relay_control
from services.proxy.mailbox import (
    Mailbox,
    MailboxAborted,
    MailboxFull,
    MailboxKey,
    MailboxTimeout,
    MemoryMailbox,
    RedisMailbox,
)
from services.proxy.peers import (
    PeerChannels,
    PeerServicer,
    SiteServicer,
    abort_rpc,
    parse_control,
)
from services.proxy.routes import NoRouteError, RouteTable, parse_address
from services.proxy.settings import ProxySettings
from services.proxy.tls import TlsConfig, TlsError, load_tls, server_credentials

__all__ = ["ProxyServicer", "RunningProxy", "create_server", "make_mailbox", "start_proxy"]

log = logging.getLogger("fedloom.proxy")

Code = grpc.StatusCode


class ProxyServicer(proxy_pb2_grpc.ProxyServicer):
    """The five RPCs of ``proto/fedloom/proxy/v1/proxy.proto`` for one party."""

    def __init__(
        self,
        settings: ProxySettings,
        mailbox: Mailbox,
        http: httpx.Client | None = None,
        tls: TlsConfig | None = None,
    ) -> None:
        self.settings = settings
        self.party_id = settings.party_id
        self.mailbox = mailbox
        self.routes = RouteTable(settings.routes, local_party_id=settings.party_id)
        self._peers = PeerChannels(self.routes, settings.max_message_bytes, tls)
        self._http = http if http is not None else httpx.Client()
        self._store_slots = threading.BoundedSemaphore(settings.max_concurrent_pushes)
        self._forward_slots = threading.BoundedSemaphore(settings.max_concurrent_pushes)

    def close(self) -> None:
        """Close peer channels, the HTTP client and the mailbox."""
        self._peers.close()
        self._http.close()
        self.mailbox.close()

    # -- envelopes --------------------------------------------------------------------------

    def _check(self, envelope: proxy_pb2.Envelope, context: grpc.ServicerContext) -> None:
        try:
            party_from_proto(envelope.src, "src")
            party_from_proto(envelope.dst, "dst")
        except ValueError as exc:
            abort_rpc(context, Code.INVALID_ARGUMENT, f"envelope of job {envelope.job_id}: {exc}")
        if not self.routes.accepts(envelope.src.party_id):
            abort_rpc(
                context,
                Code.PERMISSION_DENIED,
                f"party {envelope.src.party_id} is not in the route table of party "
                f"{self.party_id}: envelope refused",
            )
        if len(envelope.payload) > self.settings.max_chunk_bytes:
            abort_rpc(
                context,
                Code.INVALID_ARGUMENT,
                f"chunk of {len(envelope.payload)} bytes exceeds max_chunk_bytes "
                f"{self.settings.max_chunk_bytes} of party {self.party_id}'s proxy",
            )

    def _store(self, envelope: proxy_pb2.Envelope, context: grpc.ServicerContext) -> None:
        wait = min(self.settings.push_wait_s, context.time_remaining())
        try:
            self.mailbox.put(envelope, wait)
        except MailboxFull as exc:
            abort_rpc(context, Code.RESOURCE_EXHAUSTED, f"party {self.party_id}: {exc}")

    def _forward(self, envelope: proxy_pb2.Envelope, context: grpc.ServicerContext) -> None:
        dst = envelope.dst.party_id
        if envelope.src.party_id != self.party_id:  # no relaying between other parties
            abort_rpc(
                context,
                Code.PERMISSION_DENIED,
                f"the proxy of party {self.party_id} does not relay envelopes of party "
                f"{envelope.src.party_id} to party {dst}",
            )
        try:
            address, stub = self._peers.stub(dst)
        except NoRouteError as exc:
            abort_rpc(context, Code.NOT_FOUND, str(exc))
        deadline = time.monotonic() + min(self.settings.forward_timeout_s, context.time_remaining())

        def attempt() -> proxy_pb2.PushAck:
            remaining = max(deadline - time.monotonic(), 0.001)
            return stub.Push(iter((envelope,)), timeout=remaining)

        try:
            call_with_retry(attempt, deadline=deadline, retry_on=TRANSIENT)
        except grpc.RpcError as exc:
            code = exc.code()
            if code in (Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED):
                message = f"party {dst} unreachable: proxy at {address}: {describe(exc)}"
            else:
                message = f"proxy of party {dst} at {address} refused: {exc.details()}"
            log.warning("forwarding job %s tag %r: %s", envelope.job_id, envelope.tag, message)
            abort_rpc(context, code if code is not None else Code.UNKNOWN, message)

    def Push(
        self, request_iterator: Iterator[proxy_pb2.Envelope], context: grpc.ServicerContext
    ) -> proxy_pb2.PushAck:
        """Store envelopes addressed to this party; forward the others one chunk at a time."""
        accepted = 0
        for envelope in request_iterator:
            self._check(envelope, context)
            local = envelope.dst.party_id == self.party_id
            # Separate slots for storing and forwarding: a store waits only for local pulls
            # (served by the remaining threads), so two proxies forwarding to each other
            # cannot hold all of each other's threads.
            slots = self._store_slots if local else self._forward_slots
            if not slots.acquire(blocking=False):
                abort_rpc(
                    context,
                    Code.UNAVAILABLE,
                    f"proxy of party {self.party_id} is busy ({self.settings.max_concurrent_pushes}"
                    f" {'stores' if local else 'forwards'} in progress); retry",
                )
            try:
                if local:
                    self._store(envelope, context)
                else:
                    self._forward(envelope, context)
            finally:
                slots.release()
            accepted += 1
        return proxy_pb2.PushAck(accepted=accepted)

    def Pull(
        self, request: proxy_pb2.PullRequest, context: grpc.ServicerContext
    ) -> proxy_pb2.Envelope:
        """Take the next envelope of the key from this party's mailbox."""
        if request.dst.party_id != self.party_id:
            abort_rpc(
                context,
                Code.FAILED_PRECONDITION,
                f"this proxy serves party {self.party_id}; cannot pull messages addressed to "
                f"party {request.dst.party_id}",
            )
        try:
            party_from_proto(request.src, "src")
            party_from_proto(request.dst, "dst")
        except ValueError as exc:
            abort_rpc(context, Code.INVALID_ARGUMENT, f"pull of job {request.job_id}: {exc}")
        key = MailboxKey.of(request)
        asked = 0.0 if math.isnan(request.timeout_s) else max(request.timeout_s, 0.0)
        wait = min(asked, context.time_remaining())
        try:
            envelope = self.mailbox.take(key, wait, lambda: not context.is_active())
        except MailboxAborted as exc:
            abort_rpc(context, Code.ABORTED, str(exc))
        except MailboxTimeout as exc:
            abort_rpc(context, Code.DEADLINE_EXCEEDED, str(exc))
        if not context.is_active():  # the puller gave up meanwhile: keep the envelope
            self.mailbox.requeue(envelope)
            abort_rpc(context, Code.CANCELLED, "pull cancelled")
        return envelope

    def Abort(
        self, request: proxy_pb2.AbortRequest, context: grpc.ServicerContext
    ) -> proxy_pb2.AbortReply:
        """Fail pending and later pulls of the job at this proxy."""
        log.info("job %s aborted at party %s: %s", request.job_id, self.party_id, request.reason)
        self.mailbox.abort(request.job_id, request.reason)
        return proxy_pb2.AbortReply()

    # -- control ----------------------------------------------------------------------------

    def Control(
        self, request: proxy_pb2.ControlMessage, context: grpc.ServicerContext
    ) -> proxy_pb2.ControlMessage:
        """Deliver a control message to this party's flow, or relay it to the peer's proxy."""
        return self.handle_control(parse_control(request, context), request, context)

    def handle_control(
        self,
        control: ControlRequest,
        request: proxy_pb2.ControlMessage,
        context: grpc.ServicerContext,
    ) -> proxy_pb2.ControlMessage:
        """:meth:`Control` for a message already parsed (by a listener that checked it)."""
        if not self.routes.accepts(control.src_party_id):
            reply = ControlReply(
                ok=False,
                error=f"party {control.src_party_id} is not in the route table of party "
                f"{self.party_id}: control message refused",
            )
        else:
            timeout = min(self.settings.control_timeout_s, context.time_remaining())
            if control.dst_party_id == self.party_id:
                reply = deliver_to_flow(self._http, self.settings, control, timeout)
            else:
                reply = relay_control(self._peers, control, request, timeout)
        return proxy_pb2.ControlMessage(json=reply.model_dump_json().encode())

    def Health(
        self, request: proxy_pb2.HealthRequest, context: grpc.ServicerContext
    ) -> proxy_pb2.HealthReply:
        """Liveness: ``ok`` and this party's id."""
        return proxy_pb2.HealthReply(status="ok", party_id=self.party_id)


def make_mailbox(settings: ProxySettings) -> Mailbox:
    """The mailbox the settings ask for: Redis when ``REDIS_URL`` is set, else in memory."""
    if settings.redis_url:
        return RedisMailbox(settings.redis_url, settings.party_id, settings.max_mailbox_bytes)
    return MemoryMailbox(settings.max_mailbox_bytes)


@dataclass
class RunningProxy:
    """A started proxy: its server(s), the ports they bound and its servicer (mailbox, routes).

    ``public_server``/``public_port`` exist when ``proxy_public_listen`` is set.
    """

    server: grpc.Server
    port: int
    servicer: ProxyServicer
    public_server: grpc.Server | None = None
    public_port: int | None = None

    @staticmethod
    def _connect_host(listen: str) -> str:
        host, _ = parse_address(listen)
        return "127.0.0.1" if host in ("0.0.0.0", "[::]", "::") else host

    @property
    def address(self) -> str:
        """``host:port`` this site's own services connect to (the site-local listener)."""
        return f"{self._connect_host(self.servicer.settings.proxy_listen)}:{self.port}"

    @property
    def public_address(self) -> str:
        """``host:port`` peers connect to: the public listener, else the site-local one."""
        listen = self.servicer.settings.proxy_public_listen
        if listen is None or self.public_port is None:
            return self.address
        return f"{self._connect_host(listen)}:{self.public_port}"

    def stop(self, grace: float | None = None) -> None:
        """Stop serving (waiting up to ``grace`` s for RPCs in flight) and release resources."""
        wait = self.servicer.settings.shutdown_grace_s if grace is None else grace
        events = [self.server.stop(wait)]
        if self.public_server is not None:
            events.append(self.public_server.stop(wait))
        for event in events:
            event.wait()
        self.servicer.close()


def _server(settings: ProxySettings, name: str) -> grpc.Server:
    options = [
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.so_reuseport", 0),  # a second proxy on the same port must fail, not share it
    ]
    return grpc.server(
        ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix=name),
        options=options,
    )


def _bind(
    server: grpc.Server, listen: str, credentials: grpc.ServerCredentials | None, what: str
) -> int:
    try:
        if credentials is None:
            port = server.add_insecure_port(listen)
        else:
            port = server.add_secure_port(listen, credentials)
    except RuntimeError as exc:
        raise OSError(f"{what}: {exc}") from None
    if not port:
        raise OSError(f"{what}: cannot listen on {listen}")
    return int(port)


def _build(settings: ProxySettings, mailbox: Mailbox | None) -> RunningProxy:
    try:
        tls = load_tls(settings.tls_cert, settings.tls_key, settings.tls_ca)
    except TlsError as exc:
        raise OSError(f"proxy of party {settings.party_id}: {exc}") from None
    servicer = ProxyServicer(
        settings, mailbox if mailbox is not None else make_mailbox(settings), tls=tls
    )
    what = f"proxy of party {settings.party_id}"
    server = _server(settings, "proxy")
    public = settings.proxy_public_listen
    try:
        if public is None:  # one listener for the site and its peers (demo, tests)
            proxy_pb2_grpc.add_ProxyServicer_to_server(servicer, server)
            return RunningProxy(server, _bind(server, settings.proxy_listen, None, what), servicer)
        proxy_pb2_grpc.add_ProxyServicer_to_server(SiteServicer(servicer), server)
        port = _bind(server, settings.proxy_listen, None, what)
        public_server = _server(settings, "public")
        peers = PeerServicer(servicer, verify_certificates=tls is not None)
        proxy_pb2_grpc.add_ProxyServicer_to_server(peers, public_server)
        credentials = server_credentials(tls) if tls is not None else None
        public_port = _bind(public_server, public, credentials, f"{what} (public listener)")
    except BaseException:
        servicer.close()
        raise
    return RunningProxy(server, port, servicer, public_server, public_port)


def create_server(settings: ProxySettings, mailbox: Mailbox | None = None) -> grpc.Server:
    """A gRPC server for the proxy, bound to ``settings.proxy_listen`` but not started.

    Prefer :func:`start_proxy`: its :meth:`RunningProxy.stop` also closes the peer channels,
    the HTTP client and the mailbox, which stopping the bare server leaves open; and only it
    serves ``proxy_public_listen``.
    """
    return _build(settings, mailbox).server


def start_proxy(settings: ProxySettings, mailbox: Mailbox | None = None) -> RunningProxy:
    """Create, bind and start a proxy; listeners may use port 0 (see ``.port``/``.public_port``)."""
    proxy = _build(settings, mailbox)
    proxy.server.start()
    if proxy.public_server is not None:
        proxy.public_server.start()
        security = "mTLS" if settings.tls_enabled else "PLAINTEXT, no peer authentication"
        public = f"; peers on {proxy.public_address} ({security})"
    else:
        public = " (site and peers, plaintext, no peer authentication)"
    log.info(
        "proxy of party %s listening on %s%s (routes: %s; mailbox: %s)",
        settings.party_id,
        proxy.address,
        public,
        ", ".join(f"{p} → {a}" for p, a in sorted(settings.routes.items())) or "none",
        type(proxy.servicer.mailbox).__name__,
    )
    if not settings.tls_enabled:
        log.warning("proxy of party %s runs without TLS: not for production", settings.party_id)
    return proxy
