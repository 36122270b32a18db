"""Client of this site's proxy for the flow: control messages to peer flows, health."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import grpc
from pydantic import ValidationError

from fedloom._proto import proxy_pb2, proxy_pb2_grpc
from fedloom.federation.grpc_transport import call_with_retry, channel_options
from services.common.contracts import ControlReply, ControlRequest

__all__ = ["ProxyClient", "ProxyClientError"]


class ProxyClientError(RuntimeError):
    """The local proxy could not be reached or answered nonsense; the message says which."""


def _describe(exc: grpc.RpcError) -> str:
    code = exc.code()
    return f"{code.name if code is not None else 'UNKNOWN'}: {exc.details() or 'no details'}"


class ProxyClient:
    """Talks to the proxy at ``address`` (``host:port``) of this site.

    :meth:`control` returns the peer flow's :class:`ControlReply`; a peer that cannot be
    reached is a reply with ``ok=False`` and an error naming the party. Only a failure of the
    local proxy itself raises :class:`ProxyClientError`. ``UNAVAILABLE`` is retried with
    backoff within ``timeout`` seconds.

    ``credentials`` (e.g. ``services.proxy.tls.channel_credentials``) make the channel TLS, for
    a proxy's public listener; ``server_name`` is then the name its certificate must carry
    (``party-<id>``) instead of the host of ``address``.
    """

    def __init__(
        self,
        address: str,
        *,
        timeout: float = 60.0,
        credentials: grpc.ChannelCredentials | None = None,
        server_name: str | None = None,
    ) -> None:
        self.address = address
        self.timeout = timeout
        options: list[tuple[str, int | str]] = [*channel_options()]
        if server_name is not None:
            options.append(("grpc.ssl_target_name_override", server_name))
        if credentials is None:
            self._channel = grpc.insecure_channel(address, options=options)
        else:
            self._channel = grpc.secure_channel(address, credentials, options=options)
        self._stub = proxy_pb2_grpc.ProxyStub(self._channel)

    def control(self, request: ControlRequest, *, timeout: float | None = None) -> ControlReply:
        """Send a control message to ``request.dst_party_id``'s flow; return its reply."""
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        message = proxy_pb2.ControlMessage(json=request.model_dump_json().encode())
        try:
            answer = call_with_retry(
                lambda: self._stub.Control(
                    message, timeout=max(deadline - time.monotonic(), 0.001)
                ),
                deadline=deadline,
            )
        except grpc.RpcError as exc:
            raise ProxyClientError(
                f"control {request.kind} to party {request.dst_party_id} via proxy "
                f"{self.address} failed: {_describe(exc)}"
            ) from None
        try:
            return ControlReply.model_validate_json(answer.json)
        except ValidationError as exc:
            raise ProxyClientError(
                f"proxy {self.address} sent an invalid ControlReply: {exc}"
            ) from None

    def health(self, *, timeout: float = 5.0) -> dict[str, Any]:
        """``{"status": "ok", "party_id": ...}``; :class:`ProxyClientError` if the proxy is down."""
        deadline = time.monotonic() + timeout
        try:
            reply = call_with_retry(
                lambda: self._stub.Health(
                    proxy_pb2.HealthRequest(), timeout=max(deadline - time.monotonic(), 0.001)
                ),
                deadline=deadline,
            )
        except grpc.RpcError as exc:
            raise ProxyClientError(
                f"proxy {self.address} is not healthy: {_describe(exc)}"
            ) from None
        return {"status": reply.status, "party_id": reply.party_id}

    def close(self) -> None:
        """Close the channel. Idempotent."""
        self._channel.close()

    def __enter__(self) -> ProxyClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
