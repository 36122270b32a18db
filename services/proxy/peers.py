"""The proxy's side facing other parties: channels to peer proxies and the public listener.

With ``FEDLOOM_PROXY_PUBLIC_LISTEN`` set, a proxy serves two listeners:

- the **site-local** listener (``FEDLOOM_PROXY_LISTEN``, plaintext, loopback or the site's
  internal network) for its own flow and executors: every RPC, but only with ``src`` = this
  party;
- the **public** listener (:class:`PeerServicer`) for peer proxies: ``Push`` of envelopes
  addressed to this party, ``Control`` messages for this party's flow, and ``Health``. ``Pull``
  and ``Abort`` are refused. With TLS configured it requires a client certificate from the CA,
  and the party the certificate names must be the ``src`` of every envelope and control message
  (``PERMISSION_DENIED`` naming both parties otherwise).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

import grpc
from pydantic import ValidationError

from fedloom._proto import proxy_pb2, proxy_pb2_grpc
from fedloom.federation.grpc_transport import channel_options
from services.common.contracts import ControlRequest
from services.proxy.routes import RouteTable
from services.proxy.tls import (
    TlsConfig,
    channel_credentials,
    party_name,
    peer_channel_options,
    peer_parties,
)

if TYPE_CHECKING:
    from services.proxy.server import ProxyServicer

__all__ = ["PeerChannels", "PeerServicer", "SiteServicer"]

Code = grpc.StatusCode


def abort_rpc(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    """End the RPC with ``code`` and ``message`` (grpc raises; this never returns)."""
    context.abort(code, message)
    raise AssertionError("unreachable: ServicerContext.abort raises")


def parse_control(
    request: proxy_pb2.ControlMessage, context: grpc.ServicerContext
) -> ControlRequest:
    """The control message's JSON as a ControlRequest, or INVALID_ARGUMENT naming the fault."""
    try:
        return ControlRequest.model_validate_json(request.json)
    except ValidationError as exc:
        abort_rpc(context, Code.INVALID_ARGUMENT, f"invalid ControlRequest JSON: {exc}")


class PeerChannels:
    """One cached channel and stub per peer proxy, created on first use.

    With ``tls`` the channels are mTLS: they present this party's certificate, trust only the
    CA and accept only a server certificate naming the party they route to.
    """

    def __init__(
        self, routes: RouteTable, max_message_bytes: int, tls: TlsConfig | None = None
    ) -> None:
        self._routes = routes
        self._options = channel_options(max_message_bytes)
        self._credentials = channel_credentials(tls) if tls is not None else None
        self._lock = threading.Lock()
        self._stubs: dict[int, tuple[grpc.Channel, proxy_pb2_grpc.ProxyStub]] = {}

    @property
    def secure(self) -> bool:
        """Whether connections to peers use mTLS."""
        return self._credentials is not None

    def stub(self, party_id: int) -> tuple[str, proxy_pb2_grpc.ProxyStub]:
        """Address and stub of ``party_id``'s proxy; ``NoRouteError`` without a route."""
        address = self._routes.address(party_id)
        with self._lock:
            if party_id not in self._stubs:
                if self._credentials is None:
                    channel = grpc.insecure_channel(address, options=self._options)
                else:
                    options = [*self._options, *peer_channel_options(party_id)]
                    channel = grpc.secure_channel(address, self._credentials, options=options)
                self._stubs[party_id] = (channel, proxy_pb2_grpc.ProxyStub(channel))
            return address, self._stubs[party_id][1]

    def close(self) -> None:
        """Close every channel."""
        with self._lock:
            for channel, _ in self._stubs.values():
                channel.close()
            self._stubs.clear()


class PeerServicer(proxy_pb2_grpc.ProxyServicer):
    """The public listener of a proxy: checks what peers may do, then defers to ``core``.

    ``verify_certificates`` (TLS configured) makes every ``src`` claim be checked against the
    party named by the caller's client certificate.
    """

    def __init__(self, core: ProxyServicer, *, verify_certificates: bool) -> None:
        self.core = core
        self.party_id = core.party_id
        self.verify_certificates = verify_certificates

    def _identity(self, context: grpc.ServicerContext) -> frozenset[int] | None:
        """Parties the caller's certificate names; ``None`` when certificates are not checked."""
        if not self.verify_certificates:
            return None
        parties = peer_parties(context)
        if not parties:
            abort_rpc(
                context,
                Code.UNAUTHENTICATED,
                f"the client certificate names no party (CN or DNS SAN party-<id>): refused by "
                f"party {self.party_id}",
            )
        return parties

    def _check_src(
        self, src: int, parties: frozenset[int] | None, what: str, context: grpc.ServicerContext
    ) -> None:
        if src == self.party_id:
            abort_rpc(
                context,
                Code.PERMISSION_DENIED,
                f"{what} claims to come from party {src}, the receiving party itself: refused",
            )
        if parties is not None and src not in parties:
            names = ", ".join(party_name(p) for p in sorted(parties))
            abort_rpc(
                context,
                Code.PERMISSION_DENIED,
                f"{what} claims src party {src} but the peer's client certificate names "
                f"{names}: refused by party {self.party_id}",
            )

    def Push(
        self, request_iterator: Iterator[proxy_pb2.Envelope], context: grpc.ServicerContext
    ) -> proxy_pb2.PushAck:
        """Accept envelopes for this party from the peer the certificate names."""
        parties = self._identity(context)

        def checked() -> Iterator[proxy_pb2.Envelope]:
            for envelope in request_iterator:
                what = f"envelope of job {envelope.job_id}"
                if envelope.dst.party_id != self.party_id:
                    abort_rpc(
                        context,
                        Code.PERMISSION_DENIED,
                        f"{what} is addressed to party {envelope.dst.party_id}: the proxy of "
                        f"party {self.party_id} does not relay envelopes between other parties",
                    )
                self._check_src(envelope.src.party_id, parties, what, context)
                yield envelope

        return self.core.Push(checked(), context)

    def Control(
        self, request: proxy_pb2.ControlMessage, context: grpc.ServicerContext
    ) -> proxy_pb2.ControlMessage:
        """Deliver a peer's control message to this party's flow."""
        parties = self._identity(context)
        control = parse_control(request, context)
        what = f"control message {control.kind}"
        if control.dst_party_id != self.party_id:
            abort_rpc(
                context,
                Code.PERMISSION_DENIED,
                f"{what} is addressed to party {control.dst_party_id}: the proxy of party "
                f"{self.party_id} does not relay control messages between other parties",
            )
        self._check_src(control.src_party_id, parties, what, context)
        return self.core.handle_control(control, request, context)

    def Pull(
        self, request: proxy_pb2.PullRequest, context: grpc.ServicerContext
    ) -> proxy_pb2.Envelope:
        """Refused: this party's own executors pull on the site-local listener."""
        abort_rpc(
            context,
            Code.PERMISSION_DENIED,
            f"Pull is served to party {self.party_id}'s own services on its site-local listener "
            "only",
        )

    def Abort(
        self, request: proxy_pb2.AbortRequest, context: grpc.ServicerContext
    ) -> proxy_pb2.AbortReply:
        """Refused: only this party's own services abort jobs at its proxy."""
        abort_rpc(
            context,
            Code.PERMISSION_DENIED,
            f"Abort is served to party {self.party_id}'s own services on its site-local listener "
            "only",
        )

    def Health(
        self, request: proxy_pb2.HealthRequest, context: grpc.ServicerContext
    ) -> proxy_pb2.HealthReply:
        """Liveness, also for peers (after the mTLS handshake when TLS is configured)."""
        return self.core.Health(request, context)


class SiteServicer(proxy_pb2_grpc.ProxyServicer):
    """The site-local listener when a public one exists: only this party may claim ``src``."""

    def __init__(self, core: ProxyServicer) -> None:
        self.core = core
        self.party_id = core.party_id

    def _check_src(self, src: int, what: str, context: grpc.ServicerContext) -> None:
        if src != self.party_id:
            abort_rpc(
                context,
                Code.PERMISSION_DENIED,
                f"{what} claims src party {src} on the site-local listener of party "
                f"{self.party_id}: peers must use the public listener",
            )

    def Push(
        self, request_iterator: Iterator[proxy_pb2.Envelope], context: grpc.ServicerContext
    ) -> proxy_pb2.PushAck:
        """Store or forward this party's own envelopes."""

        def checked() -> Iterator[proxy_pb2.Envelope]:
            for envelope in request_iterator:
                what = f"envelope of job {envelope.job_id}"
                self._check_src(envelope.src.party_id, what, context)
                yield envelope

        return self.core.Push(checked(), context)

    def Control(
        self, request: proxy_pb2.ControlMessage, context: grpc.ServicerContext
    ) -> proxy_pb2.ControlMessage:
        """Relay this party's flow's control message."""
        control = parse_control(request, context)
        self._check_src(control.src_party_id, f"control message {control.kind}", context)
        return self.core.handle_control(control, request, context)

    def Pull(
        self, request: proxy_pb2.PullRequest, context: grpc.ServicerContext
    ) -> proxy_pb2.Envelope:
        """Take from this party's mailbox."""
        return self.core.Pull(request, context)

    def Abort(
        self, request: proxy_pb2.AbortRequest, context: grpc.ServicerContext
    ) -> proxy_pb2.AbortReply:
        """Fail pulls of a job at this proxy."""
        return self.core.Abort(request, context)

    def Health(
        self, request: proxy_pb2.HealthRequest, context: grpc.ServicerContext
    ) -> proxy_pb2.HealthReply:
        """Liveness."""
        return self.core.Health(request, context)
