"""Transport over the party's own proxy (``services/proxy``), spoken in gRPC.

A :class:`GrpcTransport` talks to one proxy only: the proxy of its own party. ``push`` hands
each envelope to that proxy, which stores it (addressee is this party) or forwards it to the
proxy of the destination party; ``pull`` takes from this party's mailbox at the proxy.

The helpers here (conversions to and from the protobuf messages, channel options, retries with
exponential backoff) are shared with the proxy server and client in ``services/proxy``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Collection
from typing import TypeVar

import grpc

from fedloom._proto import proxy_pb2, proxy_pb2_grpc
from fedloom.federation.transport import Transport
from fedloom.federation.types import (
    ROLES,
    Envelope,
    FederationAborted,
    FederationError,
    FederationTimeout,
    Party,
)

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_TIMEOUT",
    "GrpcTransport",
    "call_with_retry",
    "channel_options",
    "envelope_from_proto",
    "envelope_to_proto",
    "party_from_proto",
    "party_to_proto",
]

DEFAULT_TIMEOUT = 120.0
"""Seconds a push or abort may take, retries and waiting for mailbox room included."""
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Largest gRPC message sent or received (one envelope: its chunk plus a few fields)."""
PULL_GRACE_S = 10.0
"""The gRPC deadline of a pull exceeds its wait by this much, so the proxy answers first."""

_T = TypeVar("_T")
_RETRYABLE: frozenset[grpc.StatusCode] = frozenset({grpc.StatusCode.UNAVAILABLE})


def channel_options(max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> list[tuple[str, int]]:
    """gRPC channel options: message size limits both ways, short reconnect backoff.

    gRPC's own reconnect backoff grows to 120 s by default, so a channel to a proxy that was
    down for a while would keep failing fast long after it is back; ours stays under 2 s.
    """
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 2000),
    ]


def call_with_retry(
    call: Callable[[], _T],
    *,
    deadline: float,
    retry_on: Collection[grpc.StatusCode] = _RETRYABLE,
    initial_backoff: float = 0.05,
    max_backoff: float = 1.0,
) -> _T:
    """Run ``call``, retrying on the given status codes with jittered exponential backoff.

    ``deadline`` is a :func:`time.monotonic` instant (``math.inf`` for none); a retry is only
    started when the backoff ends before it. The last :class:`grpc.RpcError` is re-raised.
    """
    delay = initial_backoff
    while True:
        try:
            return call()
        except grpc.RpcError as exc:
            if exc.code() not in retry_on:
                raise
            pause = delay * random.uniform(0.5, 1.0)
            if time.monotonic() + pause >= deadline:
                raise
            time.sleep(pause)
            delay = min(delay * 2, max_backoff)


def party_to_proto(party: Party) -> proxy_pb2.PartyRef:
    """The wire form of a party."""
    return proxy_pb2.PartyRef(role=party.role, party_id=party.party_id)


def party_from_proto(ref: proxy_pb2.PartyRef, field: str = "party") -> Party:
    """A party from its wire form; ``ValueError`` naming ``field`` for an unknown role."""
    role = ref.role
    if role not in ROLES:
        raise ValueError(f"{field}: unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return Party(role, ref.party_id)


def envelope_to_proto(envelope: Envelope) -> proxy_pb2.Envelope:
    """The wire form of an envelope."""
    return proxy_pb2.Envelope(
        job_id=envelope.job_id,
        src=party_to_proto(envelope.src),
        dst=party_to_proto(envelope.dst),
        tag=envelope.tag,
        seq=envelope.seq,
        chunk_index=envelope.chunk_index,
        chunk_count=envelope.chunk_count,
        payload=envelope.payload,
        checksum=envelope.checksum,
    )


def envelope_from_proto(message: proxy_pb2.Envelope) -> Envelope:
    """An envelope from its wire form; ``ValueError`` naming the field for unknown roles."""
    return Envelope(
        job_id=message.job_id,
        src=party_from_proto(message.src, "src"),
        dst=party_from_proto(message.dst, "dst"),
        tag=message.tag,
        seq=message.seq,
        chunk_index=message.chunk_index,
        chunk_count=message.chunk_count,
        payload=message.payload,
        checksum=message.checksum,
    )


def _describe(exc: grpc.RpcError) -> str:
    code = exc.code()
    name = code.name if code is not None else "UNKNOWN"
    return f"{name}: {exc.details() or 'no details'}"


class GrpcTransport(Transport):
    """A :class:`Transport` over the gRPC proxy of the local party.

    ``address`` is ``host:port`` of this party's proxy. ``timeout`` bounds each push and abort,
    including retries of ``UNAVAILABLE`` (proxy restarting) and waiting while the destination's
    mailbox is full. ``credentials`` switches the channel to TLS (mTLS comes with the proxy's
    certificates); without them the channel is plaintext, for a proxy on the same host or network.
    """

    def __init__(
        self,
        address: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        credentials: grpc.ChannelCredentials | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        self.address = address
        self.timeout = timeout
        options = channel_options(max_message_bytes)
        if credentials is None:
            self._channel = grpc.insecure_channel(address, options=options)
        else:
            self._channel = grpc.secure_channel(address, credentials, options=options)
        self._stub = proxy_pb2_grpc.ProxyStub(self._channel)
        self._lock = threading.Lock()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise FederationError(f"transport to proxy {self.address} is closed")

    def push(self, envelope: Envelope) -> None:
        """Hand the envelope to the proxy; returns once it is stored at the addressee's proxy."""
        self._check_open()
        message = envelope_to_proto(envelope)
        deadline = time.monotonic() + self.timeout

        def attempt() -> proxy_pb2.PushAck:
            remaining = max(deadline - time.monotonic(), 0.001)
            return self._stub.Push(iter((message,)), timeout=remaining)

        try:
            call_with_retry(attempt, deadline=deadline)
        except grpc.RpcError as exc:
            raise FederationError(
                f"push of {envelope.tag!r} from {envelope.src} to {envelope.dst} "
                f"via proxy {self.address} failed: {_describe(exc)}"
            ) from None

    def pull(self, job_id: str, src: Party, dst: Party, tag: str, timeout: float) -> Envelope:
        """Take the next envelope of the key from the proxy's mailbox, waiting ``timeout`` s."""
        self._check_open()
        wait = max(float(timeout), 0.0)
        started = time.monotonic()
        deadline = started + wait
        # UNAVAILABLE (proxy restarting) is retried until the pull's own deadline, or for
        # ``self.timeout`` when the pull waits forever.
        retry_until = deadline if math.isfinite(wait) else started + self.timeout

        def attempt() -> proxy_pb2.Envelope:
            remaining = max(deadline - time.monotonic(), 0.0)
            request = proxy_pb2.PullRequest(
                job_id=job_id,
                src=party_to_proto(src),
                dst=party_to_proto(dst),
                tag=tag,
                timeout_s=remaining,
            )
            rpc_timeout = remaining + PULL_GRACE_S if math.isfinite(remaining) else None
            return self._stub.Pull(request, timeout=rpc_timeout)

        try:
            message = call_with_retry(attempt, deadline=retry_until)
        except grpc.RpcError as exc:
            code = exc.code()
            if code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.NOT_FOUND):
                raise FederationTimeout(
                    f"no message {tag!r} from {src} to {dst} within {timeout:g} s "
                    f"(proxy {self.address})"
                ) from None
            if code == grpc.StatusCode.ABORTED:
                raise FederationAborted(exc.details() or f"job {job_id} aborted") from None
            raise FederationError(
                f"pull of {tag!r} from {src} to {dst} via proxy {self.address} failed: "
                f"{_describe(exc)}"
            ) from None
        try:
            return envelope_from_proto(message)
        except ValueError as exc:
            raise FederationError(f"proxy {self.address} sent an invalid envelope: {exc}") from None

    def abort(self, job_id: str, reason: str) -> None:
        """Fail pending and later pulls of ``job_id`` at this party's proxy."""
        self._check_open()
        request = proxy_pb2.AbortRequest(job_id=job_id, reason=reason)
        deadline = time.monotonic() + self.timeout
        try:
            call_with_retry(
                lambda: self._stub.Abort(request, timeout=max(deadline - time.monotonic(), 0.001)),
                deadline=deadline,
            )
        except grpc.RpcError as exc:
            raise FederationError(
                f"abort of job {job_id} at proxy {self.address} failed: {_describe(exc)}"
            ) from None

    def close(self) -> None:
        """Close the channel to the proxy. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._channel.close()

    def __repr__(self) -> str:
        return f"GrpcTransport({self.address!r})"
