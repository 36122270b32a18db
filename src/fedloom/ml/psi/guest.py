"""The guest side of the Intersection component: learns the intersection with every host.

The guest runs one pairwise exchange per host (RSA blind signatures or X25519 double masking,
see ``docs/psi.md``), interleaved batch by batch so that no host waits for the guest to finish
another host, then keeps the ids it shares with *all* hosts. With ``sync_intersect_ids`` it
sends each host the positions of that final intersection in the host's shuffled list. The
crypto of each batch is spread over the run's worker processes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fedloom.crypto import dh_group, rsa_blind, x25519
from fedloom.federation import Context, Party, PartyHandle
from fedloom.ml.psi.bloom import preprocess_guest
from fedloom.ml.psi.cache import GuestCache, GuestEntry, check_cache_use, params_tag
from fedloom.ml.psi.cardinality import guest_cardinality
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
    IdHash,
    IntersectionError,
    IntersectionResult,
    as_rows,
    batch_bounds,
    check_ids,
    check_rows,
    known_result,
    match_rows,
    read_hello,
    resolve_batch_size,
    round_robin,
)
from fedloom.ml.psi.kernels import DHKernel, ECDHKernel, Kernel, RSAGuestKernel
from fedloom.ml.psi.params import IntersectParam
from fedloom.ml.psi.sample_ids import check_generator, finish_sample_ids
from fedloom.ml.psi.split import guest_split
from fedloom.ml.psi.workers import Chunked, Workers, check_workers, resolve_workers

Match = tuple[NDArray[np.intp], NDArray[np.intp]]
_SPLIT_ONE_HOST = (
    "split_calculation needs exactly one host: with several, each host would find (and learn) "
    "its pairwise intersection, more than the final one"
)


def _rsa_kernel(setup: dict[str, Any], params: IntersectParam, host: Party) -> RSAGuestKernel:
    """The kernel for a host's RSA public key, after checking the key against the policy."""
    n, e = setup.get("n"), setup.get("e")
    if not isinstance(n, int) or not isinstance(e, int):
        raise IntersectionError(f"{host}: the RSA public key must be two ints n and e")
    try:
        key = rsa_blind.RSABlindPublicKey(n, e)
    except ValueError as exc:
        raise IntersectionError(f"{host}: {exc}") from exc
    min_key_length = params.rsa_params.key_length
    if key.key_length < min_key_length:
        raise IntersectionError(
            f"{host} sent a {key.key_length}-bit RSA key; rsa_params.key_length "
            f"requires at least {min_key_length}"
        )
    return RSAGuestKernel(key, _hashing(params))


def _hashing(params: IntersectParam) -> IdHash:
    return IdHash(params.hashing.hash_method, params.hashing.salt)


def rsa_key_tag(setup: dict[str, Any]) -> str:
    """A digest of the host's RSA public key in its hello (binds a guest cache to the key)."""
    return hashlib.sha256(f"{setup.get('n')}/{setup.get('e')}".encode()).hexdigest()[:32]


class _Guest:
    """The guest's half of one method against one host, batch by batch on the pool.

    RSA: blind ``H(x)`` under the host's public key, unblind the signatures and hash them; the
    host's values are compared as they come. ECDH: mask ``H(x)`` with a fresh secret ``a``, and
    the host's ``b·H(y)`` to ``a·b·H(y)``. DH: the same with ``H(x)^a mod p``, comparing
    hashes of the doubly encrypted elements.
    """

    def __init__(self, kernel: Kernel, pool: Workers) -> None:
        self.kernel, self.pool = kernel, pool
        self.rsa = isinstance(kernel, RSAGuestKernel)
        self.dh = isinstance(kernel, DHKernel)
        if isinstance(kernel, RSAGuestKernel):
            self.query_width, self.value_width = kernel.key.byte_length, DIGEST_BYTES
        elif isinstance(kernel, DHKernel):
            self.query_width = self.value_width = kernel.group.byte_length
        else:
            self.query_width = self.value_width = x25519.POINT_BYTES

    def _map(self, method: str, width: int, *columns: bytes) -> Chunked:
        """``method(*chunks, offset)`` over row chunks of ``columns`` (rows of ``width`` bytes)."""
        jobs = []
        for a, b in self.pool.split(len(columns[0]) // width):
            chunks = [column[a * width : b * width] for column in columns]
            jobs.append(self.pool.submit(self.kernel, method, *chunks, a))
        return Chunked(jobs)

    def query(self, ids: list[str]) -> Chunked:
        """Start computing the query of a batch of own ids."""
        method = "query" if self.rsa else "own"
        bounds = self.pool.split(len(ids))
        return Chunked([self.pool.submit(self.kernel, method, ids[a:b]) for a, b in bounds])

    def query_payload(self, job: Chunked) -> tuple[U8, bytes | None]:
        """What to send for a finished query job, and the state needed to read the reply."""
        if not self.rsa:
            return as_rows(job.join(), self.query_width), None
        parts = job.results()
        payload = b"".join(p for p, _ in parts)
        return as_rows(payload, self.query_width), b"".join(u for _, u in parts)

    def read_reply(self, reply: object, state: bytes | None, rows: int) -> Chunked | U8:
        """The own ids' comparable values from the host's reply (a job for RSA and DH)."""
        checked = check_rows(reply, self.query_width, rows, REPLY)
        if state is not None:
            return self._map("finish", self.query_width, checked.tobytes(), state)
        if self.dh:
            return self._map("digest", self.query_width, checked.tobytes())
        return checked

    def read_host_values(self, values: object) -> Chunked | U8:
        """The host's comparable values from what it sent (a job for ECDH and DH)."""
        checked = check_rows(values, self.value_width, None, VALUES)
        if self.rsa:
            return checked
        method = "mask_digest" if self.dh else "mask"
        return self._map(method, self.value_width, checked.tobytes())


def _rows(value: Chunked | U8, what: str) -> U8:
    if isinstance(value, np.ndarray):
        return value
    try:
        return as_rows(value.join(), DIGEST_BYTES)
    except ValueError as exc:  # a signature outside [0, n), a low-order point
        raise IntersectionError(f"{what}: {exc}") from exc


class IntersectionGuest:
    """Guest role of FATE's Intersection: ``IntersectionGuest(params).run(ctx, ids)``.

    ``batch_size`` (ids per message) defaults by method, see ``DEFAULT_BATCH_SIZES``.
    ``workers``: local processes for the crypto (None: one per CPU for large inputs, see
    ``workers.resolve_workers``; 1: inline). ``make_cache``: also return a
    :class:`~fedloom.ml.psi.cache.GuestCache` in the result; ``cache``: use one from an earlier
    run against the same hosts (see ``cache.py``).
    """

    def __init__(
        self,
        params: IntersectParam | None = None,
        *,
        batch_size: int | None = None,
        workers: int | None = None,
        make_cache: bool = False,
        cache: GuestCache | None = None,
    ) -> None:
        self.params = params if params is not None else IntersectParam()
        self.batch_size = resolve_batch_size(batch_size, self.params)
        self.workers = check_workers(workers)
        check_cache_use(self.params, make_cache, cache is not None)
        self.make_cache, self.cache = make_cache, cache

    def run(self, ctx: Context, ids: Sequence[str]) -> IntersectionResult:
        """Intersect ``ids`` (unique str) with every host's ids; the guest always learns it
        (only its size with ``cardinality_only``)."""
        if not ctx.is_guest:
            raise ValueError(f"IntersectionGuest runs at the guest, not at {ctx.local}")
        hosts = list(ctx.parties.hosts)
        if not hosts:
            raise ValueError("intersection needs at least one host")
        check_ids(ids)
        params = self.params
        check_generator(ctx, params)
        if self.split and len(hosts) != 1:
            raise ValueError(_SPLIT_ONE_HOST)
        if params.cardinality_only:
            return guest_cardinality(ctx, params, ids, self.batch_size, self.workers)
        full = list(ids)
        kept: NDArray[np.int64] | None = None
        if params.preprocess is not None:
            kept = np.flatnonzero(preprocess_guest(ctx, params.preprocess, ids)).astype(np.int64)
            ids = [ids[i] for i in kept.tolist()]
        made: dict[int, GuestEntry] = {}
        if self.split:
            selected = guest_split(self, ctx, ids)
        else:
            selected = self._intersect(ctx, hosts, ids, made)
        if kept is not None:
            selected = kept[selected]
        result = known_result(params.intersect_method, full, selected)
        if self.make_cache:
            cache = GuestCache(params.intersect_method, params_tag(params), made)
            result = replace(result, cache=cache)
        return finish_sample_ids(ctx, params, result)

    @property
    def split(self) -> bool:
        """Whether this run uses RSA ``split_calculation`` (``split.py``)."""
        return self.params.intersect_method == "rsa" and self.params.rsa_params.split_calculation

    def _intersect(
        self, ctx: Context, hosts: list[Party], ids: Sequence[str], made: dict[int, GuestEntry]
    ) -> NDArray[np.intp]:
        """The rows of ``ids`` shared with every host; with sync, each host is told its own."""
        with Workers(resolve_workers(self.workers, len(ids))) as pool:
            exchanges = [self.exchange(ctx, host, ids, pool, made) for host in hosts]
            matches = round_robin(exchanges)
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
        return selected

    def _kernel(self, setup: dict[str, Any], host: Party) -> Kernel:
        params = self.params
        if params.intersect_method == "rsa":
            return _rsa_kernel(setup, params, host)
        if params.intersect_method == "ecdh":
            return ECDHKernel(x25519.generate_secret(), _hashing(params))
        group = dh_group.DHGroup(params.dh_params.key_length)
        if setup.get("key_length") != group.key_length:
            raise IntersectionError(f"{host} runs another DH group than the guest")
        return DHKernel(group, dh_group.generate_exponent(group), _hashing(params))

    def _cached_values(
        self, setup: dict[str, Any], host: Party, host_batches: int
    ) -> tuple[U8 | None, str | None]:
        """``(cached host values, cache id to make)`` from the host's hello and our cache."""
        offer = setup.get("cache")
        key_tag = rsa_key_tag(setup) if self.params.intersect_method == "rsa" else ""
        if offer is None:
            if self.cache is not None or self.make_cache:
                raise IntersectionError(f"{host} neither makes nor uses an intersection cache")
            return None, None
        if not isinstance(offer, dict) or len(offer) != 1:
            raise IntersectionError(f"{host}: malformed cache offer")
        if "make" in offer and self.make_cache:
            return None, str(offer["make"])
        if "use" in offer and self.cache is not None:
            if host_batches:
                raise IntersectionError(f"{host} uses a cache but sends its values again")
            values = self.cache.entry(self.params, host.party_id, offer["use"], key_tag)
            return values, None
        raise IntersectionError(f"{host} and the guest disagree on using an intersection cache")

    def exchange(
        self,
        ctx: Context,
        host: Party,
        ids: Sequence[str],
        pool: Workers,
        made: dict[int, GuestEntry],
    ) -> Generator[None, None, Match]:
        """The pairwise protocol with one host; yields between batches, returns the matches
        ``(own rows, positions in the host's shuffled list)``.

        Up to ``PIPELINE_DEPTH`` query batches are unanswered at a time; the next one is
        computed while the host answers, so both sides work at once.
        """
        peer = PartyHandle(ctx, host)
        host_batches, setup = read_hello(peer.get(HELLO), self.params, host)
        guest = _Guest(self._kernel(setup, host), pool)
        cached, making = self._cached_values(setup, host, host_batches)
        bounds = batch_bounds(len(ids), self.batch_size)
        peer.put(QUERY_BATCHES, len(bounds))
        queries = [PartyHandle(c, host) for _, c in ctx.sub(GUEST_IDS).batches(len(bounds))]
        answers = [PartyHandle(c, host) for _, c in ctx.sub(HOST_IDS).batches(host_batches)]

        own = np.empty((len(ids), DIGEST_BYTES), dtype=np.uint8)
        theirs: list[U8] = []
        received: list[U8] = []
        states: dict[int, bytes | None] = {}

        def start(b: int) -> Chunked:
            begin, end = bounds[b]
            return guest.query(list(ids[begin:end]))

        def send(b: int, job: Chunked) -> None:
            payload, states[b] = guest.query_payload(job)
            queries[b].put(QUERY, payload)

        def host_values(step: int) -> Chunked | U8:
            if cached is not None:
                begin, end = step * self.batch_size, (step + 1) * self.batch_size
                return guest.read_host_values(cached[begin:end])
            value = answers[step].get(VALUES)
            if making is not None:
                received.append(check_rows(value, guest.value_width, None, VALUES))
            return guest.read_host_values(value)

        their_batches = host_batches
        if cached is not None:
            their_batches = -(-len(cached) // self.batch_size)
        first = [start(b) for b in range(min(PIPELINE_DEPTH, len(bounds)))]
        for b, job in enumerate(first):
            send(b, job)
        yield
        for step in range(max(len(bounds), their_batches)):
            ahead = step + PIPELINE_DEPTH
            upcoming = start(ahead) if ahead < len(bounds) else None
            mine = theirs_job = None
            if step < len(bounds):
                begin, end = bounds[step]
                reply = queries[step].get(REPLY)
                mine = guest.read_reply(reply, states.pop(step), end - begin)
            if upcoming is not None:
                send(ahead, upcoming)
            if step < their_batches:
                theirs_job = host_values(step)
            if mine is not None:
                own[begin:end] = _rows(mine, REPLY)
            if theirs_job is not None:
                theirs.append(_rows(theirs_job, VALUES))
            yield
        if making is not None:
            width = guest.value_width
            kept = np.concatenate(received) if received else np.empty((0, width), np.uint8)
            key_tag = rsa_key_tag(setup) if guest.rsa else ""
            made[host.party_id] = GuestEntry(making, key_tag, kept)
        host_values_all = (
            np.concatenate(theirs) if theirs else np.empty((0, DIGEST_BYTES), np.uint8)
        )
        return match_rows(own, host_values_all)
