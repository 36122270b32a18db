"""Cardinality-only intersection (FATE's ``cardinality_only``): the guest learns only ``|∩|``.

ECDH or DH double encryption with one host, as in the full protocol, except that the host
answers the guest's encrypted ids **in a fresh secret order over the whole input** (not batch
by batch), so the guest gets two unordered multisets of doubly encrypted values — its own ids'
and the host's — and can count their common elements but not tell which of its ids they are
(decisional Diffie-Hellman: without the host's key the answers cannot be linked to queries).
With ``sync_cardinality`` the guest then sends the count to the host (``intersect_cardinality``).

What crosses: host → guest: ``hello``, its own ids keyed by its secret (shuffled), the guest's
queries keyed again (shuffled over the whole run); guest → host: the batch count, its ids keyed
by its secret, and with ``sync_cardinality`` the count. RSA is refused (see ``IntersectParam``):
the guest must unblind each signature in query order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fedloom.crypto import dh_group, x25519
from fedloom.federation import Context, PartyHandle
from fedloom.ml.psi.common import (
    DIGEST_BYTES,
    GUEST_IDS,
    HELLO,
    HOST_IDS,
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
    check_rows,
    make_hello,
    match_rows,
    read_hello,
    secure_permutation,
)
from fedloom.ml.psi.kernels import DHKernel, ECDHKernel, Kernel
from fedloom.ml.psi.params import IntersectParam
from fedloom.ml.psi.workers import Chunked, Workers, resolve_workers

CARDINALITY = "intersect_cardinality"


def _kernel(params: IntersectParam) -> tuple[Kernel, int, dict[str, int]]:
    """A fresh key of the method, the wire width of its values, and the hello setup."""
    hashing = IdHash(params.hashing.hash_method, params.hashing.salt)
    if params.intersect_method == "ecdh":
        return ECDHKernel(x25519.generate_secret(), hashing), x25519.POINT_BYTES, {}
    group = dh_group.DHGroup(params.dh_params.key_length)
    kernel = DHKernel(group, dh_group.generate_exponent(group), hashing)
    return kernel, group.byte_length, {"key_length": group.key_length}


def _map(pool: Workers, kernel: Kernel, method: str, rows: U8) -> Chunked:
    raw = np.ascontiguousarray(rows).tobytes()
    width = rows.shape[1]
    return Chunked(
        [
            pool.submit(kernel, method, raw[a * width : b * width], a)
            for a, b in pool.split(len(rows))
        ]
    )


def _own(pool: Workers, kernel: Kernel, ids: list[str]) -> Chunked:
    return Chunked([pool.submit(kernel, "own", ids[a:b]) for a, b in pool.split(len(ids))])


def _join(job: Chunked, width: int, what: str) -> U8:
    try:
        return as_rows(job.join(), width)
    except ValueError as exc:  # a low-order point, a value outside the group
        raise IntersectionError(f"{what}: {exc}") from exc


def host_cardinality(
    ctx: Context, params: IntersectParam, ids: Sequence[str], batch_size: int, workers: int | None
) -> IntersectionResult:
    """The host's side; it learns the count only with ``sync_cardinality``."""
    kernel, width, setup = _kernel(params)
    order = secure_permutation(len(ids))
    own_bounds = batch_bounds(len(ids), batch_size)
    guest = ctx.guest
    guest.put(HELLO, make_hello(params, len(own_bounds), setup))
    query_batches = check_count(guest.get(QUERY_BATCHES), QUERY_BATCHES)
    queries = [PartyHandle(c, guest.party) for _, c in ctx.sub(GUEST_IDS).batches(query_batches)]
    answers = [PartyHandle(c, guest.party) for _, c in ctx.sub(HOST_IDS).batches(len(own_bounds))]
    replies: list[U8] = []
    with Workers(resolve_workers(workers, len(ids))) as pool:
        for step in range(max(query_batches, len(own_bounds))):
            own = reply = None
            if step < len(own_bounds):
                start, stop = own_bounds[step]
                own = _own(pool, kernel, [ids[i] for i in order[start:stop].tolist()])
            if step < query_batches:
                query = check_rows(queries[step].get(QUERY), width, None, QUERY)
                reply = _map(pool, kernel, "mask", query)
            if own is not None:
                answers[step].put(VALUES, as_rows(own.join(), width))
            if reply is not None:
                replies.append(_join(reply, width, QUERY))
    sizes = [len(r) for r in replies]
    everything = np.concatenate(replies) if replies else np.empty((0, width), np.uint8)
    shuffled = everything[secure_permutation(len(everything))]
    start = 0
    for handle, size in zip(queries, sizes, strict=True):
        handle.put(REPLY, shuffled[start : start + size])
        start += size
    count = None
    if params.sync_cardinality:
        count = check_count(guest.get(CARDINALITY), CARDINALITY)
        if count > min(len(ids), len(everything)):
            raise IntersectionError(f"{CARDINALITY}: larger than either input")
    return IntersectionResult(params.intersect_method, len(ids), None, None, cardinality=count)


def guest_cardinality(
    ctx: Context, params: IntersectParam, ids: Sequence[str], batch_size: int, workers: int | None
) -> IntersectionResult:
    """The guest's side: the size of the intersection with the one host, nothing else."""
    hosts = list(ctx.parties.hosts)
    if len(hosts) != 1:
        raise ValueError(
            "cardinality_only needs exactly one host: a count over several hosts would need "
            "the guest to link ids across hosts"
        )
    host = hosts[0]
    peer = PartyHandle(ctx, host)
    host_batches, setup = read_hello(peer.get(HELLO), params, host)
    kernel, width, ours = _kernel(params)
    if setup != ours:
        raise IntersectionError(f"{host} runs another group than the guest")
    bounds = batch_bounds(len(ids), batch_size)
    peer.put(QUERY_BATCHES, len(bounds))
    queries = [PartyHandle(c, host) for _, c in ctx.sub(GUEST_IDS).batches(len(bounds))]
    answers = [PartyHandle(c, host) for _, c in ctx.sub(HOST_IDS).batches(host_batches)]
    dh = params.intersect_method == "dh"
    with Workers(resolve_workers(workers, len(ids))) as pool:
        for (begin, end), handle in zip(bounds, queries, strict=True):
            handle.put(QUERY, as_rows(_own(pool, kernel, list(ids[begin:end])).join(), width))
        theirs = []
        for handle in answers:
            values = check_rows(handle.get(VALUES), width, None, VALUES)
            method = "mask_digest" if dh else "mask"
            theirs.append(_join(_map(pool, kernel, method, values), DIGEST_BYTES, VALUES))
        mine = []
        for (begin, end), handle in zip(bounds, queries, strict=True):
            reply = check_rows(handle.get(REPLY), width, end - begin, REPLY)
            if dh:
                reply = _join(_map(pool, kernel, "digest", reply), DIGEST_BYTES, REPLY)
            mine.append(reply)
    empty = np.empty((0, DIGEST_BYTES), np.uint8)
    own_values = np.concatenate(mine) if mine else empty
    host_values = np.concatenate(theirs) if theirs else empty
    count = len(match_rows(own_values, host_values)[0])
    if params.sync_cardinality:
        peer.put(CARDINALITY, count)
    return IntersectionResult(params.intersect_method, len(ids), None, None, cardinality=count)
