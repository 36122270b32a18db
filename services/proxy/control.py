"""Control messages at the proxy: delivery to this party's flow, relay to a peer's proxy."""

from __future__ import annotations

import logging
import time

import grpc
import httpx
from pydantic import ValidationError

from fedloom._proto import proxy_pb2
from fedloom.federation.grpc_transport import call_with_retry
from services.common.contracts import ControlReply, ControlRequest
from services.proxy.peers import PeerChannels
from services.proxy.routes import NoRouteError
from services.proxy.settings import ProxySettings

__all__ = ["CONTROL_PATH", "TRANSIENT", "deliver_to_flow", "describe", "relay_control"]

log = logging.getLogger("fedloom.proxy")

CONTROL_PATH = "/internal/v1/control"
# Transient errors of a peer proxy. Each attempt gets the whole remaining deadline, so
# DEADLINE_EXCEEDED is only retried when a peer answers it early, never after a timeout.
TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def describe(exc: grpc.RpcError) -> str:
    """``CODE: details`` of a failed call."""
    code = exc.code()
    return f"{code.name if code is not None else 'UNKNOWN'}: {exc.details() or 'no details'}"


def deliver_to_flow(
    http: httpx.Client, settings: ProxySettings, control: ControlRequest, timeout: float
) -> ControlReply:
    """POST the message to this party's flow (retrying refused connections); its reply."""
    party_id = settings.party_id
    url = settings.flow_url + CONTROL_PATH
    token = settings.token.get_secret_value()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + timeout
    pause = 0.05
    while True:
        try:
            response = http.post(
                url,
                content=control.model_dump_json(),
                headers={**headers, "Content-Type": "application/json"},
                timeout=max(deadline - time.monotonic(), 0.001),
            )
            break
        except httpx.TransportError as exc:
            if not isinstance(exc, httpx.ConnectError) or time.monotonic() + pause > deadline:
                return ControlReply(
                    ok=False, error=f"flow of party {party_id} unreachable at {url}: {exc}"
                )
            time.sleep(pause)  # the flow may be starting: retry connecting
            pause = min(pause * 2, 1.0)
    if response.status_code != 200:
        return ControlReply(
            ok=False,
            error=f"flow of party {party_id} answered HTTP {response.status_code} "
            f"to {control.kind}: {response.text[:500]}",
        )
    try:
        return ControlReply.model_validate_json(response.content)
    except ValidationError as exc:
        return ControlReply(
            ok=False, error=f"flow of party {party_id} sent an invalid ControlReply: {exc}"
        )


def relay_control(
    peers: PeerChannels,
    control: ControlRequest,
    request: proxy_pb2.ControlMessage,
    timeout: float,
) -> ControlReply:
    """Send the message to the proxy of ``control.dst_party_id``; its flow's reply.

    Transient failures are retried within ``timeout``; what fails is an ``ok=False`` reply
    naming the party (``unreachable``, or ``refused`` with the peer's reason).
    """
    dst = control.dst_party_id
    try:
        address, stub = peers.stub(dst)
    except NoRouteError as exc:
        return ControlReply(ok=False, error=str(exc))
    deadline = time.monotonic() + timeout
    try:
        answer = call_with_retry(
            lambda: stub.Control(request, timeout=max(deadline - time.monotonic(), 0.001)),
            deadline=deadline,
            retry_on=TRANSIENT,
        )
    except grpc.RpcError as exc:
        log.warning("control %s to party %s failed: %s", control.kind, dst, describe(exc))
        if exc.code() in TRANSIENT:
            error = f"party {dst} unreachable: proxy at {address}: {describe(exc)}"
        else:
            error = f"proxy of party {dst} at {address} refused: {describe(exc)}"
        return ControlReply(ok=False, error=error)
    try:
        return ControlReply.model_validate_json(answer.json)
    except ValidationError as exc:
        return ControlReply(ok=False, error=f"proxy of party {dst} sent an invalid reply: {exc}")
