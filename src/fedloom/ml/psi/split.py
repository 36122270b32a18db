"""RSA ``split_calculation`` (FATE ≥ 1.6): guest and host each sign half of the ids.

Both parties split their ids by a public parity bit of the salted id. The *even* half runs the
ordinary RSA exchange (the host holds the key, the guest finds the matches); the *odd* half
runs it with the roles reversed (the guest holds a fresh key of its own and answers, the host
finds the matches). The two halves run at once, interleaved batch by batch in each party's
protocol loop, so both parties' private-key work overlaps. Then each party sends the other the
positions, in the other's shuffled list, of the half it found, and both know the intersection.

What it reveals: the host finds its half itself, so it learns the intersection without being
told; fedloom therefore allows it only where the host is told the intersection anyway
(``sync_intersect_ids`` and exactly one host; with several hosts a host would learn its
pairwise intersection, more than the final one). Each side also learns how many of the peer's
ids fall in each half (a public hash bit: nothing about which ids).
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from fedloom.federation import Context, PartyHandle
from fedloom.ml.psi.common import (
    POSITIONS,
    IdHash,
    check_positions,
    round_robin,
)
from fedloom.ml.psi.workers import Workers, resolve_workers

if TYPE_CHECKING:
    from fedloom.ml.psi.guest import IntersectionGuest
    from fedloom.ml.psi.host import IntersectionHost

EVEN, ODD = "split-even", "split-odd"
_PARITY_DOMAIN = b"fedloom/psi/rsa-split-parity/v1\x00"


T = TypeVar("T")
Match = tuple[NDArray[np.intp], NDArray[np.intp]]
Served = tuple[NDArray[np.int64], Any]


def _into(steps: Generator[None, None, T], box: list[T]) -> Generator[None, None, None]:
    """``steps``, putting its result into ``box`` (so generators of different results can
    share one round robin)."""
    box.append((yield from steps))


def odd_mask(ids: Sequence[str], hashing: IdHash) -> NDArray[np.bool_]:
    """Per id, whether it belongs to the half where the guest holds the key."""
    prefix = hashlib.sha256(_PARITY_DOMAIN)
    bits = []
    for raw in hashing.encode(ids):
        h = prefix.copy()
        h.update(raw)
        bits.append(h.digest()[0] & 1)
    return np.asarray(bits, dtype=bool).reshape(len(ids))


def _halves(
    ids: Sequence[str], hashing: IdHash
) -> tuple[NDArray[np.int64], list[str], NDArray[np.int64], list[str]]:
    odd = odd_mask(ids, hashing)
    even_rows, odd_rows = np.flatnonzero(~odd), np.flatnonzero(odd)
    return (
        even_rows.astype(np.int64),
        [ids[i] for i in even_rows.tolist()],
        odd_rows.astype(np.int64),
        [ids[i] for i in odd_rows.tolist()],
    )


def guest_split(guest: IntersectionGuest, ctx: Context, ids: Sequence[str]) -> NDArray[np.int64]:
    """The guest's side: query the host's key for the even half, answer with its own for the
    odd half; returns the rows of ``ids`` in the intersection."""
    from fedloom.ml.psi.host import IntersectionHost

    params = guest.params
    (host,) = ctx.parties.hosts
    hashing = IdHash(params.hashing.hash_method, params.hashing.salt)
    even_rows, even_ids, odd_rows, odd_ids = _halves(ids, hashing)
    server = IntersectionHost(params, batch_size=guest.batch_size, workers=guest.workers)
    with Workers(resolve_workers(guest.workers, len(ids))) as pool:
        query = guest.exchange(ctx.sub(EVEN), host, even_ids, pool, {})
        serve = server.serve(ctx.sub(ODD), PartyHandle(ctx.sub(ODD), host), odd_ids, pool)
        matches: list[Match] = []
        served: list[Served] = []
        round_robin([_into(query, matches), _into(serve, served)])
    (mine, theirs), (order, _) = matches[0], served[0]
    PartyHandle(ctx.sub(EVEN), host).put(POSITIONS, np.sort(theirs))
    found = check_positions(PartyHandle(ctx.sub(ODD), host).get(POSITIONS), len(odd_ids))
    return np.concatenate([even_rows[mine], odd_rows[order[found]]])


def host_split(host: IntersectionHost, ctx: Context, ids: Sequence[str]) -> NDArray[np.int64]:
    """The host's side: answer with its key for the even half, query the guest's key for the
    odd half; returns the rows of ``ids`` in the intersection."""
    from fedloom.ml.psi.guest import IntersectionGuest

    params = host.params
    guest = ctx.guest
    hashing = IdHash(params.hashing.hash_method, params.hashing.salt)
    even_rows, even_ids, odd_rows, odd_ids = _halves(ids, hashing)
    querier = IntersectionGuest(params, batch_size=host.batch_size, workers=host.workers)
    with Workers(resolve_workers(host.workers, len(ids))) as pool:
        serve = host.serve(ctx.sub(EVEN), PartyHandle(ctx.sub(EVEN), guest.party), even_ids, pool)
        query = querier.exchange(ctx.sub(ODD), guest.party, odd_ids, pool, {})
        matches: list[Match] = []
        served: list[Served] = []
        round_robin([_into(serve, served), _into(query, matches)])
    (order, _), (mine, theirs) = served[0], matches[0]
    PartyHandle(ctx.sub(ODD), guest.party).put(POSITIONS, np.sort(theirs))
    found = check_positions(
        PartyHandle(ctx.sub(EVEN), guest.party).get(POSITIONS, host.sync_timeout), len(even_ids)
    )
    return np.concatenate([even_rows[order[found]], odd_rows[mine]])
