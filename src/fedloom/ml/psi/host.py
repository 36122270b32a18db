"""The host side of the Intersection component: answers the guest, learns the result only on sync.

The host keys its own ids (RSA: ``H2(H(x)^d)``; ECDH: ``b·H(x)``) in a secret random order so
that the positions the guest matches say nothing about the host's input, answers the guest's
blinded or masked queries, and, with ``sync_intersect_ids``, maps the positions the guest sends
back to its own ids. Without sync it receives nothing about the intersection and its result has
``ids is None``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from fedloom.crypto import rsa_blind, x25519
from fedloom.federation import Context, PartyHandle
from fedloom.ml.psi.common import (
    GUEST_IDS,
    HELLO,
    HOST_IDS,
    POSITIONS,
    QUERY,
    QUERY_BATCHES,
    REPLY,
    U8,
    VALUES,
    IntersectionError,
    IntersectionResult,
    batch_bounds,
    check_count,
    check_ids,
    check_positions,
    check_rows,
    encode,
    known_result,
    make_hello,
    resolve_batch_size,
    secure_permutation,
    unknown_result,
)
from fedloom.ml.psi.params import IntersectParam


class _HostScheme(ABC):
    """The host's half of one method (one key or secret per run)."""

    @abstractmethod
    def setup(self) -> dict[str, Any]:
        """What the guest needs before it can query (the RSA public key; nothing for ECDH)."""

    @abstractmethod
    def reply(self, query: object) -> U8:
        """The answer to a batch of the guest's blinded or masked ids, in the same order."""

    @abstractmethod
    def own(self, ids: list[bytes]) -> U8:
        """The keyed, comparable 32-byte values of a batch of own ids."""


class _RSAHost(_HostScheme):
    """Holds the RSA private key; signs blinded values and its own hashed ids."""

    def __init__(self, key_length: int) -> None:
        self._key = rsa_blind.generate_rsa_keypair(key_length)
        self._public = self._key.public_key

    def setup(self) -> dict[str, Any]:
        return {"n": int(self._public.n), "e": int(self._public.e)}

    def reply(self, query: object) -> U8:
        width = self._public.byte_length
        values = rsa_blind.array_to_ints(check_rows(query, width, None, QUERY))
        try:
            signed = self._key.sign(values)
        except ValueError as exc:
            raise IntersectionError(f"{QUERY}: {exc}") from exc
        return rsa_blind.ints_to_array(signed, width)

    def own(self, ids: list[bytes]) -> U8:
        signed = self._key.sign(rsa_blind.hash_to_zn(self._public, ids))
        return rsa_blind.hash_signatures(self._public, signed)


class _ECDHHost(_HostScheme):
    """Holds the X25519 secret ``b``; masks the guest's ``a·H(x)`` and its own ``H(y)``."""

    def __init__(self) -> None:
        self._secret = x25519.generate_secret()

    def setup(self) -> dict[str, Any]:
        return {}

    def reply(self, query: object) -> U8:
        points = check_rows(query, x25519.POINT_BYTES, None, QUERY)
        try:
            return x25519.mask(self._secret, points)
        except x25519.LowOrderPointError as exc:
            raise IntersectionError(f"{QUERY}: {exc}") from exc

    def own(self, ids: list[bytes]) -> U8:
        return x25519.mask(self._secret, x25519.hash_to_points(ids))


class IntersectionHost:
    """Host role of FATE's Intersection: ``IntersectionHost(params).run(ctx, ids)``.

    ``batch_size`` defaults by method (see ``DEFAULT_BATCH_SIZES``). ``sync_timeout`` bounds the
    wait for the final intersection after this host's own exchange is done (None: the
    federation's receive timeout); with several hosts of very different sizes the guest may
    still be busy with a larger host for a while.
    """

    def __init__(
        self,
        params: IntersectParam | None = None,
        *,
        batch_size: int | None = None,
        sync_timeout: float | None = None,
    ) -> None:
        self.params = params if params is not None else IntersectParam()
        self.batch_size = resolve_batch_size(batch_size, self.params)
        self.sync_timeout = sync_timeout

    def run(self, ctx: Context, ids: Sequence[str]) -> IntersectionResult:
        """Take part in the intersection of ``ids`` (unique str) with the guest's ids.

        Returns the final intersection with ``sync_intersect_ids``; otherwise a result whose
        ``ids`` and ``positions`` are None (``known`` is False).
        """
        if not ctx.is_host:
            raise ValueError(f"IntersectionHost runs at a host, not at {ctx.local}")
        check_ids(ids)
        scheme = self._scheme()
        order = secure_permutation(len(ids))
        own_bounds = batch_bounds(len(ids), self.batch_size)

        guest = ctx.guest
        guest.put(HELLO, make_hello(self.params, len(own_bounds), scheme.setup()))
        query_batches = check_count(guest.get(QUERY_BATCHES), QUERY_BATCHES)
        queries = [
            PartyHandle(c, guest.party) for _, c in ctx.sub(GUEST_IDS).batches(query_batches)
        ]
        answers = [
            PartyHandle(c, guest.party) for _, c in ctx.sub(HOST_IDS).batches(len(own_bounds))
        ]
        for step in range(max(query_batches, len(own_bounds))):
            if step < len(own_bounds):
                start, stop = own_bounds[step]
                batch = encode([ids[i] for i in order[start:stop].tolist()])
                answers[step].put(VALUES, scheme.own(batch))
            if step < query_batches:
                queries[step].put(REPLY, scheme.reply(queries[step].get(QUERY)))

        method = self.params.intersect_method
        if not self.params.sync_intersect_ids:
            return unknown_result(method, len(ids))
        positions = check_positions(guest.get(POSITIONS, self.sync_timeout), len(ids))
        return known_result(method, ids, order[positions])

    def _scheme(self) -> _HostScheme:
        if self.params.intersect_method == "rsa":
            return _RSAHost(self.params.rsa_params.key_length)
        return _ECDHHost()
