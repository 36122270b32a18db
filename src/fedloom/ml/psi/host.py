"""The host side of the Intersection component: answers the guest, learns the result only on sync.

The host keys its own ids (RSA: ``H2(H(x)^d)``; ECDH: ``b·H(x)``; DH: ``H(x)^b mod p``) in a
secret random order so that the positions the guest matches say nothing about the host's input,
answers the guest's blinded or masked queries, and, with ``sync_intersect_ids``, maps the
positions the guest sends back to its own ids. Without sync it receives nothing about the
intersection and its result has ``ids is None``. The crypto of each batch is spread over the
run's worker processes.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

import numpy as np

from fedloom.crypto import dh_group, rsa_blind, x25519
from fedloom.federation import Context, PartyHandle
from fedloom.ml.psi.bloom import preprocess_host
from fedloom.ml.psi.cache import HostCache, check_cache_use, ids_digest, new_cache_id, params_tag
from fedloom.ml.psi.cardinality import host_cardinality
from fedloom.ml.psi.common import (
    DIGEST_BYTES,
    GUEST_IDS,
    HELLO,
    HOST_IDS,
    I64,
    POSITIONS,
    QUERY,
    QUERY_BATCHES,
    REPLY,
    U8,
    VALUES,
    IdHash,
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
    round_robin,
    secure_permutation,
    unknown_result,
)
from fedloom.ml.psi.kernels import DHKernel, ECDHKernel, Kernel, RSAHostKernel
from fedloom.ml.psi.params import IntersectParam
from fedloom.ml.psi.sample_ids import check_generator, finish_sample_ids
from fedloom.ml.psi.split import host_split
from fedloom.ml.psi.workers import Chunked, Workers, check_workers, resolve_workers


class _Host:
    """One run's key and the two per-batch operations: key own ids, answer a query batch."""

    def __init__(self, params: IntersectParam, cache: HostCache | None = None) -> None:
        self.kernel: Kernel
        self.setup: dict[str, Any] = {}
        hashing = IdHash(params.hashing.hash_method, params.hashing.salt)
        method = params.intersect_method
        if method == "rsa":
            if cache is not None:
                p, q, e = cache.key
                key = rsa_blind.RSABlindPrivateKey(p, q, e)
            else:
                key = rsa_blind.generate_rsa_keypair(params.rsa_params.key_length)
            self.kernel = RSAHostKernel(key, hashing)
            self.setup = {"n": int(key.public_key.n), "e": int(key.public_key.e)}
            self.query_width = key.public_key.byte_length
            self.value_width = DIGEST_BYTES
            self.key: tuple[int, ...] = key.private_numbers()
            self.secret = b""
        elif method == "ecdh":
            self.secret = cache.secret if cache is not None else x25519.generate_secret()
            self.kernel = ECDHKernel(self.secret, hashing)
            self.query_width = self.value_width = x25519.POINT_BYTES
            self.key = ()
        else:
            group = dh_group.DHGroup(params.dh_params.key_length)
            exponent = cache.key[0] if cache is not None else dh_group.generate_exponent(group)
            self.kernel = DHKernel(group, exponent, hashing)
            self.setup = {"key_length": group.key_length}
            self.query_width = self.value_width = group.byte_length
            self.key, self.secret = (exponent,), b""
        self.reply_method = "reply" if method == "rsa" else "mask"

    def own(self, pool: Workers, ids: list[str]) -> Chunked:
        """Start keying a batch of own ids (already in the secret order)."""
        return Chunked([pool.submit(self.kernel, "own", ids[a:b]) for a, b in pool.split(len(ids))])

    def reply(self, pool: Workers, query: object) -> Chunked:
        """Start answering a batch of the guest's blinded or masked ids."""
        raw = check_rows(query, self.query_width, None, QUERY).tobytes()
        width = self.query_width
        jobs: list[Future[Any]] = [
            pool.submit(self.kernel, self.reply_method, raw[a * width : b * width], a)
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
    ``make_cache``: also return a :class:`~fedloom.ml.psi.cache.HostCache` in the result;
    ``cache``: use one from an earlier run against the same guest (see ``cache.py``).
    """

    def __init__(
        self,
        params: IntersectParam | None = None,
        *,
        batch_size: int | None = None,
        sync_timeout: float | None = None,
        workers: int | None = None,
        make_cache: bool = False,
        cache: HostCache | None = None,
    ) -> None:
        self.params = params if params is not None else IntersectParam()
        self.batch_size = resolve_batch_size(batch_size, self.params)
        self.sync_timeout = sync_timeout
        self.workers = check_workers(workers)
        check_cache_use(self.params, make_cache, cache is not None)
        self.make_cache, self.cache = make_cache, cache

    def run(self, ctx: Context, ids: Sequence[str]) -> IntersectionResult:
        """Take part in the intersection of ``ids`` (unique str) with the guest's ids.

        Returns the final intersection with ``sync_intersect_ids``; otherwise a result whose
        ``ids`` and ``positions`` are None (``known`` is False).
        """
        if not ctx.is_host:
            raise ValueError(f"IntersectionHost runs at a host, not at {ctx.local}")
        check_ids(ids)
        params, full = self.params, len(ids)
        check_generator(ctx, params)
        if params.cardinality_only:
            return host_cardinality(ctx, params, ids, self.batch_size, self.workers)
        kept: I64 | None = None
        if params.preprocess is not None:
            kept = np.flatnonzero(preprocess_host(ctx, params.preprocess, ids)).astype(np.int64)
            ids = [ids[i] for i in kept.tolist()]
        if params.intersect_method == "rsa" and params.rsa_params.split_calculation:
            if len(ctx.parties.hosts) != 1:
                raise ValueError("split_calculation needs exactly one host")
            result = known_result(params.intersect_method, ids, host_split(self, ctx, ids))
        else:
            result = self._intersect(ctx, ids)
        if kept is not None:
            positions = None if result.positions is None else kept[result.positions]
            result = replace(result, positions=positions, input_count=full)
        return finish_sample_ids(ctx, params, result)

    def _intersect(self, ctx: Context, ids: Sequence[str]) -> IntersectionResult:
        guest = ctx.guest
        with Workers(resolve_workers(self.workers, len(ids))) as pool:
            ((order, made),) = round_robin([self.serve(ctx, guest, ids, pool)])
        method = self.params.intersect_method
        if not self.params.sync_intersect_ids:
            return replace(unknown_result(method, len(ids)), cache=made)
        positions = check_positions(guest.get(POSITIONS, self.sync_timeout), len(ids))
        return replace(known_result(method, ids, order[positions]), cache=made)

    def serve(
        self, ctx: Context, peer: PartyHandle, ids: Sequence[str], pool: Workers
    ) -> Generator[None, None, tuple[I64, HostCache | None]]:
        """The key holder's half of one pairwise exchange with ``peer``, one batch step per
        ``yield``; returns the secret order of the own values sent and the cache made (if any).

        The host serves the guest this way; with ``split_calculation`` the guest serves the
        host the same way for half of the ids (``split.py``).
        """
        cache = self.cache
        if cache is not None:
            cache.check(self.params, peer.party.party_id, ids)
        host = _Host(self.params, cache)
        order = cache.order if cache is not None else secure_permutation(len(ids))
        own_bounds = [] if cache is not None else batch_bounds(len(ids), self.batch_size)
        setup = dict(host.setup)
        cache_id = None
        if cache is not None:
            setup["cache"] = {"use": cache.cache_id}
        elif self.make_cache:
            cache_id = new_cache_id()
            setup["cache"] = {"make": cache_id}

        peer.put(HELLO, make_hello(self.params, len(own_bounds), setup))
        query_batches = check_count(peer.get(QUERY_BATCHES), QUERY_BATCHES)
        queries = [PartyHandle(c, peer.party) for _, c in ctx.sub(GUEST_IDS).batches(query_batches)]
        answers = [
            PartyHandle(c, peer.party) for _, c in ctx.sub(HOST_IDS).batches(len(own_bounds))
        ]
        yield
        for step in range(max(query_batches, len(own_bounds))):
            own = reply = None
            if step < len(own_bounds):
                start, stop = own_bounds[step]
                own = host.own(pool, [ids[i] for i in order[start:stop].tolist()])
            if step < query_batches:
                reply = host.reply(pool, queries[step].get(QUERY))
            if own is not None:
                answers[step].put(VALUES, as_rows(own.join(), host.value_width))
            if reply is not None:
                queries[step].put(REPLY, _answer(reply, host.query_width))
            yield

        made = None
        if cache_id is not None:
            made = HostCache(
                self.params.intersect_method,
                params_tag(self.params),
                peer.party.party_id,
                cache_id,
                host.key,
                host.secret,
                ids_digest(ids),
                order,
            )
        return order, made
