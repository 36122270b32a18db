"""The proxy's gRPC server: mailbox for this party, forwarding to peer proxies, control relay."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NoReturn

import grpc
import httpx
from pydantic import ValidationError

from fedloom._proto import proxy_pb2, proxy_pb2_grpc
from fedloom.federation.grpc_transport import call_with_retry, channel_options, party_from_proto
from services.common.contracts import ControlReply, ControlRequest
from services.proxy.mailbox import (
    Mailbox,
    MailboxAborted,
    MailboxFull,
    MailboxKey,
    MailboxTimeout,
    MemoryMailbox,
    RedisMailbox,
)
from services.proxy.routes import NoRouteError, RouteTable, parse_address
from services.proxy.settings import ProxySettings

__all__ = ["ProxyServicer", "RunningProxy", "create_server", "make_mailbox", "start_proxy"]

log = logging.getLogger("fedloom.proxy")

CONTROL_PATH = "/internal/v1/control"
Code = grpc.StatusCode
# Transient errors of a peer proxy. Each attempt gets the whole remaining deadline, so
# DEADLINE_EXCEEDED is only retried when a peer answers it early, never after a timeout.
_TRANSIENT = frozenset({Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED})


def _describe(exc: grpc.RpcError) -> str:
    code = exc.code()
    return f"{code.name if code is not None else 'UNKNOWN'}: {exc.details() or 'no details'}"


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)
    raise AssertionError("unreachable: ServicerContext.abort raises")


class _Peers:
    """One cached channel and stub per peer proxy, created on first use."""

    def __init__(self, settings: ProxySettings, routes: RouteTable) -> None:
        self._routes = routes
        self._options = channel_options(settings.max_message_bytes)
        self._lock = threading.Lock()
        self._stubs: dict[int, tuple[grpc.Channel, proxy_pb2_grpc.ProxyStub]] = {}

    def stub(self, party_id: int) -> tuple[str, proxy_pb2_grpc.ProxyStub]:
        """Address and stub of ``party_id``'s proxy; :class:`NoRouteError` without a route."""
        address = self._routes.address(party_id)
        with self._lock:
            if party_id not in self._stubs:
                # mTLS goes here: grpc.secure_channel(address, credentials, options=...).
                channel = grpc.insecure_channel(address, options=self._options)
                self._stubs[party_id] = (channel, proxy_pb2_grpc.ProxyStub(channel))
            return address, self._stubs[party_id][1]

    def close(self) -> None:
        """Close every channel."""
        with self._lock:
            for channel, _ in self._stubs.values():
                channel.close()
            self._stubs.clear()


class ProxyServicer(proxy_pb2_grpc.ProxyServicer):
    """The five RPCs of ``proto/fedloom/proxy/v1/proxy.proto`` for one party."""

    def __init__(
        self,
        settings: ProxySettings,
        mailbox: Mailbox,
        http: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.party_id = settings.party_id
        self.mailbox = mailbox
        self.routes = RouteTable(settings.routes, local_party_id=settings.party_id)
        self._peers = _Peers(settings, self.routes)
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
            _abort(context, Code.INVALID_ARGUMENT, f"envelope of job {envelope.job_id}: {exc}")
        if not self.routes.accepts(envelope.src.party_id):
            _abort(
                context,
                Code.PERMISSION_DENIED,
                f"party {envelope.src.party_id} is not in the route table of party "
                f"{self.party_id}: envelope refused",
            )
        if len(envelope.payload) > self.settings.max_chunk_bytes:
            _abort(
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
            _abort(context, Code.RESOURCE_EXHAUSTED, f"party {self.party_id}: {exc}")

    def _forward(self, envelope: proxy_pb2.Envelope, context: grpc.ServicerContext) -> None:
        dst = envelope.dst.party_id
        if envelope.src.party_id != self.party_id:  # no relaying between other parties
            _abort(
                context,
                Code.PERMISSION_DENIED,
                f"the proxy of party {self.party_id} does not relay envelopes of party "
                f"{envelope.src.party_id} to party {dst}",
            )
        try:
            address, stub = self._peers.stub(dst)
        except NoRouteError as exc:
            _abort(context, Code.NOT_FOUND, str(exc))
        deadline = time.monotonic() + min(self.settings.forward_timeout_s, context.time_remaining())

        def attempt() -> proxy_pb2.PushAck:
            remaining = max(deadline - time.monotonic(), 0.001)
            return stub.Push(iter((envelope,)), timeout=remaining)

        try:
            call_with_retry(attempt, deadline=deadline, retry_on=_TRANSIENT)
        except grpc.RpcError as exc:
            code = exc.code()
            if code in (Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED):
                message = f"party {dst} unreachable: proxy at {address}: {_describe(exc)}"
            else:
                message = f"proxy of party {dst} at {address} refused: {exc.details()}"
            log.warning("forwarding job %s tag %r: %s", envelope.job_id, envelope.tag, message)
            _abort(context, code if code is not None else Code.UNKNOWN, message)

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
                _abort(
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
            _abort(
                context,
                Code.FAILED_PRECONDITION,
                f"this proxy serves party {self.party_id}; cannot pull messages addressed to "
                f"party {request.dst.party_id}",
            )
        try:
            party_from_proto(request.src, "src")
            party_from_proto(request.dst, "dst")
        except ValueError as exc:
            _abort(context, Code.INVALID_ARGUMENT, f"pull of job {request.job_id}: {exc}")
        key = MailboxKey.of(request)
        asked = 0.0 if math.isnan(request.timeout_s) else max(request.timeout_s, 0.0)
        wait = min(asked, context.time_remaining())
        try:
            envelope = self.mailbox.take(key, wait, lambda: not context.is_active())
        except MailboxAborted as exc:
            _abort(context, Code.ABORTED, str(exc))
        except MailboxTimeout as exc:
            _abort(context, Code.DEADLINE_EXCEEDED, str(exc))
        if not context.is_active():  # the puller gave up meanwhile: keep the envelope
            self.mailbox.requeue(envelope)
            _abort(context, Code.CANCELLED, "pull cancelled")
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
        try:
            control = ControlRequest.model_validate_json(request.json)
        except ValidationError as exc:
            _abort(context, Code.INVALID_ARGUMENT, f"invalid ControlRequest JSON: {exc}")
        if not self.routes.accepts(control.src_party_id):
            reply = ControlReply(
                ok=False,
                error=f"party {control.src_party_id} is not in the route table of party "
                f"{self.party_id}: control message refused",
            )
        elif control.dst_party_id == self.party_id:
            reply = self._to_flow(control, context)
        else:
            reply = self._relay(control, request, context)
        return proxy_pb2.ControlMessage(json=reply.model_dump_json().encode())

    def _to_flow(self, control: ControlRequest, context: grpc.ServicerContext) -> ControlReply:
        url = self.settings.flow_url + CONTROL_PATH
        token = self.settings.token.get_secret_value()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        timeout = min(self.settings.control_timeout_s, context.time_remaining())
        deadline = time.monotonic() + timeout
        pause = 0.05
        while True:
            try:
                response = self._http.post(
                    url,
                    content=control.model_dump_json(),
                    headers={**headers, "Content-Type": "application/json"},
                    timeout=max(deadline - time.monotonic(), 0.001),
                )
                break
            except httpx.TransportError as exc:
                if not isinstance(exc, httpx.ConnectError) or time.monotonic() + pause > deadline:
                    return ControlReply(
                        ok=False, error=f"flow of party {self.party_id} unreachable at {url}: {exc}"
                    )
                time.sleep(pause)  # the flow may be starting: retry connecting
                pause = min(pause * 2, 1.0)
        if response.status_code != 200:
            return ControlReply(
                ok=False,
                error=f"flow of party {self.party_id} answered HTTP {response.status_code} "
                f"to {control.kind}: {response.text[:500]}",
            )
        try:
            return ControlReply.model_validate_json(response.content)
        except ValidationError as exc:
            return ControlReply(
                ok=False, error=f"flow of party {self.party_id} sent an invalid ControlReply: {exc}"
            )

    def _relay(
        self,
        control: ControlRequest,
        request: proxy_pb2.ControlMessage,
        context: grpc.ServicerContext,
    ) -> ControlReply:
        dst = control.dst_party_id
        try:
            address, stub = self._peers.stub(dst)
        except NoRouteError as exc:
            return ControlReply(ok=False, error=str(exc))
        deadline = time.monotonic() + min(self.settings.control_timeout_s, context.time_remaining())
        try:
            answer = call_with_retry(
                lambda: stub.Control(request, timeout=max(deadline - time.monotonic(), 0.001)),
                deadline=deadline,
                retry_on=_TRANSIENT,
            )
        except grpc.RpcError as exc:
            log.warning("control %s to party %s failed: %s", control.kind, dst, _describe(exc))
            return ControlReply(
                ok=False, error=f"party {dst} unreachable: proxy at {address}: {_describe(exc)}"
            )
        try:
            return ControlReply.model_validate_json(answer.json)
        except ValidationError as exc:
            return ControlReply(
                ok=False, error=f"proxy of party {dst} sent an invalid reply: {exc}"
            )

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
    """A started proxy: its server, the port it bound and its servicer (mailbox, routes)."""

    server: grpc.Server
    port: int
    servicer: ProxyServicer

    @property
    def address(self) -> str:
        """``host:port`` clients connect to."""
        host, _ = parse_address(self.servicer.settings.proxy_listen)
        if host in ("0.0.0.0", "[::]", "::"):
            host = "127.0.0.1"
        return f"{host}:{self.port}"

    def stop(self, grace: float | None = None) -> None:
        """Stop serving (waiting up to ``grace`` s for RPCs in flight) and release resources."""
        wait = self.servicer.settings.shutdown_grace_s if grace is None else grace
        self.server.stop(wait).wait()
        self.servicer.close()


def _build(settings: ProxySettings, mailbox: Mailbox | None) -> RunningProxy:
    servicer = ProxyServicer(settings, mailbox if mailbox is not None else make_mailbox(settings))
    options = [
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.so_reuseport", 0),  # a second proxy on the same port must fail, not share it
    ]
    server = grpc.server(
        ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="proxy"),
        options=options,
    )
    proxy_pb2_grpc.add_ProxyServicer_to_server(servicer, server)
    try:
        port = server.add_insecure_port(settings.proxy_listen)
    except RuntimeError as exc:
        servicer.close()
        raise OSError(f"proxy of party {settings.party_id}: {exc}") from None
    if not port:
        servicer.close()
        raise OSError(
            f"proxy of party {settings.party_id}: cannot listen on {settings.proxy_listen}"
        )
    return RunningProxy(server, int(port), servicer)


def create_server(settings: ProxySettings, mailbox: Mailbox | None = None) -> grpc.Server:
    """A gRPC server for the proxy, bound to ``settings.proxy_listen`` but not started.

    Prefer :func:`start_proxy`: its :meth:`RunningProxy.stop` also closes the peer channels,
    the HTTP client and the mailbox, which stopping the bare server leaves open.
    """
    return _build(settings, mailbox).server


def start_proxy(settings: ProxySettings, mailbox: Mailbox | None = None) -> RunningProxy:
    """Create, bind and start a proxy; ``proxy_listen`` may use port 0 (see ``.port``)."""
    proxy = _build(settings, mailbox)
    proxy.server.start()
    log.info(
        "proxy of party %s listening on %s (routes: %s; mailbox: %s)",
        settings.party_id,
        proxy.address,
        ", ".join(f"{p} → {a}" for p, a in sorted(settings.routes.items())) or "none",
        type(proxy.servicer.mailbox).__name__,
    )
    return proxy
