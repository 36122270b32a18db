"""What the guest and host sides of the Intersection protocols share: result, tags, checks.

Message flow between the guest and one host (tags relative to the context passed to ``run``):

=======================================  ===========  ==========================================
tag                                      direction    value
=======================================  ===========  ==========================================
``hello``                                host→guest   method, sync flag, host batch count, setup
                                                      (RSA: ``{"n", "e"}``; ECDH: ``{}``)
``query_batches``                        guest→host   number of guest batches
``guest_ids/batch-b/query``              guest→host   blinded / masked guest ids, ``(m, w)`` u8
``guest_ids/batch-b/reply``              host→guest   the host's answer, same order and shape
``host_ids/batch-b/values``              host→guest   the host's own keyed ids, shuffled, (m, 32)
``intersect_positions``                  guest→host   only with sync: positions (in the host's
                                                      shuffled order) of the final intersection
=======================================  ===========  ==========================================
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from fedloom.ml.psi.params import IntersectParam

DEFAULT_BATCH_SIZES: dict[str, int] = {"rsa": 10_000, "ecdh": 100_000, "dh": 2_000}
"""Ids per message by method. A batch bounds the memory of one batch's crypto state, and the
time a party waits for its peer's next message (one batch of work: ~20-40 s for 2048-bit RSA,
~10 s for X25519, ~6 s for 2048-bit DH), which must stay well under the federation's receive
timeout."""
DIGEST_BYTES = 32
PIPELINE_DEPTH = 2
"""Guest query batches sent and unanswered before the guest waits for a reply (the next one
is computed while it waits, so at most ``PIPELINE_DEPTH + 1`` batches of state exist)."""

HELLO = "hello"
QUERY_BATCHES = "query_batches"
GUEST_IDS = "guest_ids"
HOST_IDS = "host_ids"
QUERY = "query"
REPLY = "reply"
VALUES = "values"
POSITIONS = "intersect_positions"

U8 = NDArray[np.uint8]
I64 = NDArray[np.int64]


class IntersectionError(RuntimeError):
    """A peer broke the intersection protocol (mismatched parameters, malformed message)."""


@dataclass(frozen=True, eq=False)
class IntersectionResult:
    """The aligned samples one party ends up with.

    ``ids`` are the intersected ids sorted ascending (Python ``str`` order, the same on every
    party, so row i of every party's aligned table is the same sample) and ``positions[i]`` is
    where ``ids[i]`` sits in this party's input, to pick the rows. A host run without
    ``sync_intersect_ids`` is never told the intersection: both fields are then ``None`` and
    :attr:`known` is False. An empty intersection is a known result with no ids.

    ``cardinality`` is the size learned by a cardinality-only run (whose ``ids`` are None);
    ``new_ids`` the fresh random ids that replace ``ids`` with ``new_sample_id`` (same order);
    ``cache`` what a ``make_cache`` run hands to a later run (see ``cache.py``). With
    ``join_method: left_join`` both sides also get ``left_ids``, the new ids of the guest's
    rows that are not shared, and the guest ``left_positions``, those rows in its input (the
    hosts output them with missing values).
    """

    method: str
    input_count: int
    ids: list[str] | None
    positions: I64 | None
    cardinality: int | None = None
    new_ids: list[str] | None = None
    cache: Any = None
    left_ids: list[str] | None = None
    left_positions: I64 | None = None

    @property
    def known(self) -> bool:
        """Whether this party learned the intersection."""
        return self.ids is not None

    @property
    def count(self) -> int | None:
        """Size of the intersection, or None when it is not known here."""
        return self.cardinality if self.ids is None else len(self.ids)

    @property
    def is_empty(self) -> bool:
        """True when the intersection is known and has no ids (False when it is unknown)."""
        return self.ids is not None and not self.ids


def check_ids(ids: Sequence[str]) -> None:
    """TypeError for a non-str id, ValueError naming the first id that occurs twice."""
    seen: set[str] = set()
    for x in ids:
        if not isinstance(x, str):
            raise TypeError(f"ids must be str, got {type(x).__name__} {x!r}")
        if x in seen:
            raise ValueError(f"duplicate id {x!r} in the input; ids must be unique")
        seen.add(x)


_SALTED_DOMAIN = b"fedloom/psi/salted-id/v1\x00"


@dataclass(frozen=True)
class IdHash:
    """How ids become the bytes that a method hashes into its group (``salt``, ``hash_method``).

    With the defaults (``sha256``, no salt) the bytes are the id's UTF-8 (every group hash is
    already a domain-separated SHA-256). Otherwise they are ``hash_method(domain, len(salt),
    salt, id)``: both parties must use the same salt and hash, or nothing matches.
    """

    hash_method: str = "sha256"
    salt: str = ""

    @property
    def plain(self) -> bool:
        """True when ids go to the group hash as their UTF-8 bytes."""
        return self.hash_method == "sha256" and not self.salt

    def encode(self, ids: Sequence[str]) -> list[bytes]:
        """The bytes that the protocols hash, for a batch of ids."""
        raw = [x.encode("utf-8") for x in ids]
        if self.plain:
            return raw
        salt = self.salt.encode("utf-8")
        prefix = hashlib.new(self.hash_method)
        prefix.update(_SALTED_DOMAIN + len(salt).to_bytes(8, "big") + salt)
        out = []
        for x in raw:
            h = prefix.copy()
            h.update(x)
            out.append(h.digest())
        return out


def encode(ids: Sequence[str], hashing: IdHash | None = None) -> list[bytes]:
    """The bytes that the protocols hash, for a batch of ids (see :class:`IdHash`)."""
    return (hashing or IdHash()).encode(ids)


def known_result(method: str, ids: Sequence[str], selected: NDArray[Any]) -> IntersectionResult:
    """The result for the input rows ``selected``, put in canonical (sorted id) order."""
    chosen = [ids[i] for i in selected.tolist()]
    order = sorted(range(len(chosen)), key=chosen.__getitem__)
    positions = np.asarray(selected, dtype=np.int64)[np.asarray(order, dtype=np.intp)]
    return IntersectionResult(method, len(ids), [chosen[i] for i in order], positions)


def unknown_result(method: str, input_count: int) -> IntersectionResult:
    """The result of a host that is not told the intersection."""
    return IntersectionResult(method, input_count, None, None)


def resolve_batch_size(batch_size: int | None, params: IntersectParam) -> int:
    """``batch_size``, or the method's default when None; ValueError unless positive."""
    if batch_size is None:
        return DEFAULT_BATCH_SIZES[params.intersect_method]
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    return batch_size


def batch_bounds(count: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch of ``batch_size`` items over ``count`` items."""
    return [(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]


def secure_permutation(count: int) -> I64:
    """A uniformly random permutation of ``range(count)`` drawn from the OS CSPRNG."""
    keys = np.frombuffer(secrets.token_bytes(8 * count), dtype=np.uint64)
    return np.argsort(keys, kind="stable").astype(np.int64)


def check_rows(value: object, width: int, rows: int | None, what: str) -> U8:
    """``value`` if it is a ``(rows, width)`` uint8 array, else an IntersectionError."""
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 2:
        raise IntersectionError(f"{what}: expected a 2-D uint8 array, got {type(value).__name__}")
    if value.shape[1] != width or (rows is not None and value.shape[0] != rows):
        expected = f"({'N' if rows is None else rows}, {width})"
        raise IntersectionError(f"{what}: expected shape {expected}, got {value.shape}")
    return value


def check_count(value: object, what: str) -> int:
    """``value`` if it is a non-negative int (not bool), else an IntersectionError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise IntersectionError(f"{what}: expected a non-negative int, got {value!r}")
    return value


def check_positions(value: object, size: int) -> I64:
    """Distinct int positions in ``[0, size)``, as sent by the guest, else IntersectionError."""
    if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype.kind not in "iu":
        raise IntersectionError("intersect_positions: expected a 1-D integer array")
    positions = value.astype(np.int64)
    if positions.size and (positions.min() < 0 or positions.max() >= size):
        raise IntersectionError(f"intersect_positions: a position is outside [0, {size})")
    if np.unique(positions).size != positions.size:
        raise IntersectionError("intersect_positions: repeated positions")
    return positions


HELLO_FIELDS = ("intersect_method", "sync_intersect_ids", "cardinality_only", "sync_cardinality")
"""Parameters the guest and a host must agree on, checked from the host's ``hello``."""


def hashing_tag(params: IntersectParam) -> str:
    """A short fingerprint of the id hashing (hash method and salt) both parties must share."""
    h = params.hashing
    raw = f"{params.intersect_method}\x00{h.hash_method}\x00{h.salt}".encode()
    return hashlib.sha256(b"fedloom/psi/hashing-tag/v1\x00" + raw).hexdigest()[:16]


def make_hello(params: IntersectParam, host_batches: int, setup: dict[str, Any]) -> dict[str, Any]:
    """The host's opening message."""
    hello: dict[str, Any] = {field: getattr(params, field) for field in HELLO_FIELDS}
    hello.update(host_batches=host_batches, setup=setup, hashing=hashing_tag(params))
    return hello


def read_hello(hello: object, params: IntersectParam, host: object) -> tuple[int, dict[str, Any]]:
    """Check a host's opening message against the guest's params; ``(host_batches, setup)``."""
    if not isinstance(hello, dict) or not isinstance(hello.get("setup"), dict):
        raise IntersectionError(f"{host}: malformed hello message")
    for field in HELLO_FIELDS:
        theirs, ours = hello.get(field), getattr(params, field)
        if theirs != ours:
            raise IntersectionError(f"{host} runs {field}={theirs!r} but the guest has {ours!r}")
    if hello.get("hashing") != hashing_tag(params):
        raise IntersectionError(
            f"{host} hashes ids with another salt or hash_method than the guest"
        )
    return check_count(hello.get("host_batches"), f"{host} hello.host_batches"), hello["setup"]


def as_rows(data: bytes, width: int) -> U8:
    """``data`` as a read-only ``(len // width, width)`` uint8 array (no copy)."""
    return np.frombuffer(data, dtype=np.uint8).reshape(len(data) // width, width)


def match_rows(guest: U8, host: U8) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Row indices ``(gi, hi)`` with ``guest[gi] == host[hi]`` (32-byte rows, exact match).

    The rows are pseudo-random, so their first 8 bytes locate the candidates (one sort of the
    host's keys, one binary search per guest row) and a full 32-byte comparison confirms them.
    If two host rows share their first 8 bytes (probability ~N²/2^65) it falls back to a full
    sort of both sides. ``gi`` comes out ascending.
    """
    guest, host = np.ascontiguousarray(guest), np.ascontiguousarray(host)
    if not len(guest) or not len(host):
        return np.empty(0, np.intp), np.empty(0, np.intp)
    host_keys = host.view(np.uint64)[:, 0]
    order = np.argsort(host_keys, kind="stable")
    sorted_keys = host_keys[order]
    if np.any(sorted_keys[1:] == sorted_keys[:-1]):
        a, b = guest.view(f"V{DIGEST_BYTES}").ravel(), host.view(f"V{DIGEST_BYTES}").ravel()
        _, gi, hi = np.intersect1d(a, b, return_indices=True)
        keep = np.argsort(gi, kind="stable")
        return gi[keep].astype(np.intp), hi[keep].astype(np.intp)
    guest_keys = guest.view(np.uint64)[:, 0]
    at = np.minimum(np.searchsorted(sorted_keys, guest_keys), len(sorted_keys) - 1)
    gi = np.flatnonzero(sorted_keys[at] == guest_keys)
    hi = order[at[gi]]
    exact = np.all(guest[gi] == host[hi], axis=1)
    return gi[exact].astype(np.intp), hi[exact].astype(np.intp)


T = TypeVar("T")


def round_robin(steps: Sequence[Generator[None, None, T]]) -> list[T]:
    """Advance every generator one step at a time until all have returned; results in order.

    Each generator is one pairwise exchange that yields after each batch step, so a party
    serves several exchanges at once without threads and none of its peers waits for another.
    """
    results: list[T | None] = [None] * len(steps)
    done = [False] * len(steps)
    while not all(done):
        for i, step in enumerate(steps):
            if done[i]:
                continue
            try:
                next(step)
            except StopIteration as finished:
                results[i], done[i] = finished.value, True
    return results  # type: ignore[return-value]  # every slot is filled once all are done
