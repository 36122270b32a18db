"""The host side of the Intersection component: answers the guest, learns the result only on sync.

The host keys its own ids (RSA: ``H2(H(x)^d)``; ECDH: ``b·H(x)``) in a secret random order so
that the positions the guest matches say nothing about the host's input, answers the guest's
blinded or masked queries, and, with ``sync_intersect_ids``, maps the positions the guest sends
back to its own ids. Without sync it receives nothing about the intersection and its result has
``ids is None``. The crypto of each batch is spread over the run's worker processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from fedloom.crypto import rsa_blind, x25519
from fedloom.federation import Context, PartyHandle
from fedloom.ml.psi.common import (
    DIGEST_BYTES,
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
    as_rows,
    batch_bounds,
    check_count,
    check_ids,
    check_positions,
    check_rows,
    known_result,
    make_hello,
    resolve_batch_size,
    secure_permutation,
    unknown_result,
)
from fedloom.ml.psi.kernels import ECDHKernel, Kernel, RSAHostKernel
from fedloom.ml.psi.params import IntersectParam
from fedloom.ml.psi.workers import Chunked, Workers, check_workers, resolve_workers


class _Host:
    """One run's key and the two per-batch operations: key own ids, answer a query batch."""

    def __init__(self, params: IntersectParam) -> None:
        self.kernel: Kernel
        if params.intersect_method == "rsa":
            key = rsa_blind.generate_rsa_keypair(params.rsa_params.key_length)
            self.kernel = RSAHostKernel(key)
            self.setup: dict[str, Any] = {"n": int(key.public_key.n), "e": int(key.public_key.e)}
            self.query_width = key.public_key.byte_length
        else:
            self.kernel = ECDHKernel(x25519.generate_secret())
            self.setup = {}
            self.query_width = x25519.POINT_BYTES

    def own(self, pool: Workers, ids: list[str]) -> Chunked:
        """Start keying a batch of own ids (already in the secret order)."""
        return Chunked([pool.submit(self.kernel, "own", ids[a:b]) for a, b in pool.split(len(ids))])

    def reply(self, pool: Workers, query: object) -> Chunked:
        """Start answering a batch of the guest's blinded or masked ids."""
        raw = check_rows(query, self.query_width, None, QUERY).tobytes()
        width = self.query_width
        method = "reply" if isinstance(self.kernel, RSAHostKernel) else "mask"
        jobs: list[Future[Any]] = [
            pool.submit(self.kernel, method, raw[a * width : b * width], a)
            for a, b in pool.split(len(raw) // width)
        ]
        return Chunked(jobs)


def _answer(job: Chunked, width: int) -> U8:
    try:
        return as_rows(job.join(), width)
    except ValueError as exc:  # LowOrderPointError, or a value outside [0, n)
        raise IntersectionError(f"{QUERY}: {exc}") from exc


class IntersectionHost:
    """Host role of FATE's Intersection: ``IntersectionHost(params).run(ctx, ids)``.

    ``batch_size`` defaults by method (see ``DEFAULT_BATCH_SIZES``). ``sync_timeout`` bounds the
    wait for the final intersection after this host's own exchange is done (None: the
    federation's receive timeout); with several hosts of very different sizes the guest may
    still be busy with a larger host for a while. ``workers``: local processes for the crypto
    (None: one per CPU for large inputs, see ``workers.resolve_workers``; 1: inline).
    """

    def __init__(
        self,
        params: IntersectParam | None = None,
        *,
        batch_size: int | None = None,
        sync_timeout: float | None = None,
        workers: int | None = None,
    ) -> None:
        self.params = params if params is not None else IntersectParam()
        self.batch_size = resolve_batch_size(batch_size, self.params)
        self.sync_timeout = sync_timeout
        self.workers = check_workers(workers)

    def run(self, ctx: Context, ids: Sequence[str]) -> IntersectionResult:
        """Take part in the intersection of ``ids`` (unique str) with the guest's ids.

        Returns the final intersection with ``sync_intersect_ids``; otherwise a result whose
        ``ids`` and ``positions`` are None (``known`` is False).
        """
        if not ctx.is_host:
            raise ValueError(f"IntersectionHost runs at a host, not at {ctx.local}")
        check_ids(ids)
        host = _Host(self.params)
        order = secure_permutation(len(ids))
        own_bounds = batch_bounds(len(ids), self.batch_size)

        guest = ctx.guest
        guest.put(HELLO, make_hello(self.params, len(own_bounds), host.setup))
        query_batches = check_count(guest.get(QUERY_BATCHES), QUERY_BATCHES)
        queries = [
            PartyHandle(c, guest.party) for _, c in ctx.sub(GUEST_IDS).batches(query_batches)
        ]
        answers = [
            PartyHandle(c, guest.party) for _, c in ctx.sub(HOST_IDS).batches(len(own_bounds))
        ]
        with Workers(resolve_workers(self.workers, len(ids))) as pool:
            for step in range(max(query_batches, len(own_bounds))):
                own = reply = None
                if step < len(own_bounds):
                    start, stop = own_bounds[step]
                    own = host.own(pool, [ids[i] for i in order[start:stop].tolist()])
                if step < query_batches:
                    reply = host.reply(pool, queries[step].get(QUERY))
                if own is not None:
                    answers[step].put(VALUES, as_rows(own.join(), DIGEST_BYTES))
                if reply is not None:
                    queries[step].put(REPLY, _answer(reply, host.query_width))

        method = self.params.intersect_method
        if not self.params.sync_intersect_ids:
            return unknown_result(method, len(ids))
        positions = check_positions(guest.get(POSITIONS, self.sync_timeout), len(ids))
        return known_result(method, ids, order[positions])
