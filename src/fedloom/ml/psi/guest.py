"""The guest side of the Intersection component: learns the intersection with every host.

The guest runs one pairwise exchange per host (RSA blind signatures or X25519 double masking,
see ``docs/psi.md``), interleaved batch by batch so that no host waits for the guest to finish
another host, then keeps the ids it shares with *all* hosts. With ``sync_intersect_ids`` it
sends each host the positions of that final intersection in the host's shuffled list.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fedloom.crypto import rsa_blind, x25519
from fedloom.federation import Context, Party, PartyHandle
from fedloom.ml.psi.common import (
    DIGEST_BYTES,
    GUEST_IDS,
    HELLO,
    HOST_IDS,
    PIPELINE_DEPTH,
    POSITIONS,
    QUERY,
    QUERY_BATCHES,
    REPLY,
    U8,
    VALUES,
    IntersectionError,
    IntersectionResult,
    batch_bounds,
    check_ids,
    check_rows,
    encode,
    known_result,
    match_rows,
    read_hello,
    resolve_batch_size,
)
from fedloom.ml.psi.params import IntersectParam

Match = tuple[NDArray[np.intp], NDArray[np.intp]]


class _GuestScheme(ABC):
    """The guest's half of one method, against one host."""

    query_width: int

    @abstractmethod
    def query(self, ids: list[bytes]) -> tuple[U8, Any]:
        """What to send for a batch of own ids, and the state needed to read the reply."""

    @abstractmethod
    def read_reply(self, reply: object, state: Any, rows: int) -> U8:
        """The comparable 32-byte values of own ids from the host's reply."""

    @abstractmethod
    def read_host_values(self, values: object) -> U8:
        """The comparable 32-byte values of the host's ids from what the host sent."""


class _RSAGuest(_GuestScheme):
    """Blind ``H(x)`` under the host's public key; unblind the signatures and hash them."""

    def __init__(self, setup: dict[str, Any], min_key_length: int, host: Party) -> None:
        n, e = setup.get("n"), setup.get("e")
        if not isinstance(n, int) or not isinstance(e, int):
            raise IntersectionError(f"{host}: the RSA public key must be two ints n and e")
        try:
            self.key = rsa_blind.RSABlindPublicKey(n, e)
        except ValueError as exc:
            raise IntersectionError(f"{host}: {exc}") from exc
        if self.key.key_length < min_key_length:
            raise IntersectionError(
                f"{host} sent a {self.key.key_length}-bit RSA key; rsa_params.key_length "
                f"requires at least {min_key_length}"
            )
        self.query_width = self.key.byte_length

    def query(self, ids: list[bytes]) -> tuple[U8, Any]:
        blinded, unblinders = rsa_blind.blind(self.key, rsa_blind.hash_to_zn(self.key, ids))
        return rsa_blind.ints_to_array(blinded, self.query_width), unblinders

    def read_reply(self, reply: object, state: Any, rows: int) -> U8:
        signed = rsa_blind.array_to_ints(check_rows(reply, self.query_width, rows, REPLY))
        if any(s >= self.key.n for s in signed):
            raise IntersectionError("reply: a signature is outside [0, n)")
        return rsa_blind.hash_signatures(self.key, rsa_blind.unblind(self.key, signed, state))

    def read_host_values(self, values: object) -> U8:
        return check_rows(values, DIGEST_BYTES, None, VALUES)


class _ECDHGuest(_GuestScheme):
    """Mask ``H(x)`` with a fresh secret ``a``; mask the host's ``b·H(y)`` to ``a·b·H(y)``."""

    query_width = x25519.POINT_BYTES

    def __init__(self) -> None:
        self._secret = x25519.generate_secret()

    def query(self, ids: list[bytes]) -> tuple[U8, Any]:
        return x25519.mask(self._secret, x25519.hash_to_points(ids)), None

    def read_reply(self, reply: object, state: Any, rows: int) -> U8:
        return check_rows(reply, DIGEST_BYTES, rows, REPLY)

    def read_host_values(self, values: object) -> U8:
        points = check_rows(values, DIGEST_BYTES, None, VALUES)
        try:
            return x25519.mask(self._secret, points)
        except x25519.LowOrderPointError as exc:
            raise IntersectionError(f"{VALUES}: {exc}") from exc


class IntersectionGuest:
    """Guest role of FATE's Intersection: ``IntersectionGuest(params).run(ctx, ids)``.

    ``batch_size`` (ids per message) defaults by method, see ``DEFAULT_BATCH_SIZES``.
    """

    def __init__(
        self, params: IntersectParam | None = None, *, batch_size: int | None = None
    ) -> None:
        self.params = params if params is not None else IntersectParam()
        self.batch_size = resolve_batch_size(batch_size, self.params)

    def run(self, ctx: Context, ids: Sequence[str]) -> IntersectionResult:
        """Intersect ``ids`` (unique str) with every host's ids; the guest always learns it."""
        if not ctx.is_guest:
            raise ValueError(f"IntersectionGuest runs at the guest, not at {ctx.local}")
        hosts = list(ctx.parties.hosts)
        if not hosts:
            raise ValueError("intersection needs at least one host")
        check_ids(ids)
        matches = _round_robin([self._exchange(ctx, host, ids) for host in hosts])

        in_all = np.ones(len(ids), dtype=bool)
        for guest_rows, _ in matches:
            member = np.zeros(len(ids), dtype=bool)
            member[guest_rows] = True
            in_all &= member
        selected = np.flatnonzero(in_all)
        if self.params.sync_intersect_ids:
            for host, (guest_rows, host_rows) in zip(hosts, matches, strict=True):
                host_position = np.full(len(ids), -1, dtype=np.int64)
                host_position[guest_rows] = host_rows
                PartyHandle(ctx, host).put(POSITIONS, np.sort(host_position[selected]))
        return known_result(self.params.intersect_method, ids, selected)

    def _scheme(self, setup: dict[str, Any], host: Party) -> _GuestScheme:
        if self.params.intersect_method == "rsa":
            return _RSAGuest(setup, self.params.rsa_params.key_length, host)
        return _ECDHGuest()

    def _exchange(
        self, ctx: Context, host: Party, ids: Sequence[str]
    ) -> Generator[None, None, Match]:
        """The pairwise protocol with one host; yields between batches, returns the matches."""
        peer = PartyHandle(ctx, host)
        host_batches, setup = read_hello(peer.get(HELLO), self.params, host)
        scheme = self._scheme(setup, host)
        bounds = batch_bounds(len(ids), self.batch_size)
        peer.put(QUERY_BATCHES, len(bounds))
        queries = [PartyHandle(c, host) for _, c in ctx.sub(GUEST_IDS).batches(len(bounds))]
        answers = [PartyHandle(c, host) for _, c in ctx.sub(HOST_IDS).batches(host_batches)]

        own = np.empty((len(ids), DIGEST_BYTES), dtype=np.uint8)
        theirs: list[U8] = []
        states: dict[int, Any] = {}

        def send(b: int) -> None:
            start, stop = bounds[b]
            payload, states[b] = scheme.query(encode(ids[start:stop]))
            queries[b].put(QUERY, payload)

        for b in range(min(PIPELINE_DEPTH, len(bounds))):
            send(b)
        yield
        for step in range(max(len(bounds), host_batches)):
            if step < len(bounds):
                start, stop = bounds[step]
                reply = queries[step].get(REPLY)
                own[start:stop] = scheme.read_reply(reply, states.pop(step), stop - start)
                if step + PIPELINE_DEPTH < len(bounds):
                    send(step + PIPELINE_DEPTH)
            if step < host_batches:
                theirs.append(scheme.read_host_values(answers[step].get(VALUES)))
            yield
        host_values = np.concatenate(theirs) if theirs else np.empty((0, DIGEST_BYTES), np.uint8)
        return match_rows(own, host_values)


def _round_robin(exchanges: list[Generator[None, None, Match]]) -> list[Match]:
    """Advance every exchange one step at a time until all have returned; results in order."""
    results: list[Match | None] = [None] * len(exchanges)
    active = list(range(len(exchanges)))
    while active:
        for i in list(active):
            try:
                next(exchanges[i])
            except StopIteration as done:
                results[i] = done.value
                active.remove(i)
    return [r for r in results if r is not None]
