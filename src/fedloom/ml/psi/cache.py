"""Intersection caches (FATE ≥ 1.7 ``run_cache`` / ``input.cache``): skip the host's own-id work.

A run with ``make_cache`` is an ordinary intersection that also returns, in its result's
``cache``, what lets a later run against the same peer skip the host's half of the crypto:

- at the **host**, a :class:`HostCache`: its key (RSA ``p, q, e``; ECDH scalar; DH exponent),
  the secret order in which it sent its keyed ids, a digest of its id list, and the random
  ``cache_id`` of the run (sent to the guest in that run's hello);
- at the **guest**, a :class:`GuestCache`: per host, that ``cache_id``, the host's keyed ids as
  received (RSA ``H2(H(y)^d)``; ECDH ``b·H(y)``; DH ``H(y)^b``) and, for RSA, a digest of the
  host's public key.

A run given both caches: the host reuses its key and order and sends no own values; the guest
takes them from its cache. The guest's queries still use a fresh key (ECDH/DH) or fresh
blinding factors (RSA), so no value that crosses the wire repeats an earlier run's. Caches are
bound to the method, the hashing and key parameters, the peer, the run (``cache_id``), and at
the host to its exact id list; anything else is refused.

Serialised as a dict of numpy arrays (written with ``numpy.savez``, read with
``allow_pickle=False``): ``meta`` (UTF-8 JSON as uint8), plus ``order`` (host) or
``values/<host party id>`` (guest). The host's file holds its private key: keep it like one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fedloom.ml.psi.common import I64, U8, IntersectionError, hashing_tag
from fedloom.ml.psi.params import IntersectParam

CACHE_FORMAT = "fedloom-psi-cache/1"


def params_tag(params: IntersectParam) -> str:
    """What a cache must agree with: method, id hashing and key length."""
    key_length = {"rsa": params.rsa_params.key_length, "dh": params.dh_params.key_length}
    raw = f"{hashing_tag(params)}/{key_length.get(params.intersect_method, 0)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def ids_digest(ids: Sequence[str]) -> str:
    """A digest of an id list, in order (a host cache holds only for the same list)."""
    h = hashlib.sha256(b"fedloom/psi/cache-ids/v1\x00")
    for x in ids:
        raw = x.encode("utf-8")
        h.update(len(raw).to_bytes(8, "big") + raw)
    return h.hexdigest()


def new_cache_id() -> str:
    """A fresh random run identifier."""
    return secrets.token_hex(16)


@dataclass(frozen=True, eq=False)
class HostCache:
    """The host's half: its key, its secret order of own ids, and what it is bound to."""

    method: str
    params_tag: str
    guest: int
    cache_id: str
    key: tuple[int, ...]
    secret: bytes
    ids_digest: str
    order: I64

    def check(self, params: IntersectParam, guest: int, ids: Sequence[str]) -> None:
        """IntersectionError unless this cache fits the run (local; the peer sees nothing)."""
        _check_common(self.method, self.params_tag, params)
        if self.guest != guest:
            raise IntersectionError(f"the host's cache was made with guest {self.guest}")
        if self.ids_digest != ids_digest(ids) or len(self.order) != len(ids):
            raise IntersectionError("the host's cache was made over another id list")


@dataclass(frozen=True)
class GuestEntry:
    """What the guest keeps of one host: the run id, its key digest and its keyed ids."""

    cache_id: str
    key_tag: str
    values: U8


@dataclass(frozen=True, eq=False)
class GuestCache:
    """The guest's half: per host party id, that host's keyed ids from the caching run."""

    method: str
    params_tag: str
    entries: Mapping[int, GuestEntry]

    def entry(self, params: IntersectParam, host: int, cache_id: object, key_tag: str) -> U8:
        """The cached values of ``host`` for the run ``cache_id`` it names, else an error."""
        _check_common(self.method, self.params_tag, params)
        found = self.entries.get(host)
        if found is None:
            raise IntersectionError(f"the guest's cache holds nothing of host {host}")
        if found.cache_id != cache_id:
            raise IntersectionError(f"host {host} uses a cache of another run than the guest's")
        if found.key_tag != key_tag:
            raise IntersectionError(f"host {host} uses another key than the guest's cache")
        return found.values


def check_cache_use(params: IntersectParam, make_cache: bool, has_cache: bool) -> None:
    """ValueError for a cache request that cannot be honoured with ``params``."""
    if not (make_cache or has_cache):
        return
    if make_cache and has_cache:
        raise ValueError("a run either makes a cache (run_cache) or uses one, not both")
    if params.cardinality_only:
        raise ValueError("caches are refused with cardinality_only: they hold keyed ids")
    if params.rsa_params.split_calculation and params.intersect_method == "rsa":
        raise ValueError("caches are refused with split_calculation (both parties hold keys)")
    if params.preprocess is not None:
        raise ValueError(
            "caches are refused with run_preprocess: a preprocessed run keys only the ids "
            "that pass a Bloom filter, which changes from run to run"
        )


def _check_common(method: str, tag: str, params: IntersectParam) -> None:
    if method != params.intersect_method:
        raise IntersectionError(
            f"the cache was made by intersect_method {method!r}, not {params.intersect_method!r}"
        )
    if tag != params_tag(params):
        raise IntersectionError("the cache was made with other hashing or key parameters")


def to_arrays(cache: HostCache | GuestCache) -> dict[str, NDArray[Any]]:
    """The cache as named numpy arrays (no objects: loadable with ``allow_pickle=False``)."""
    meta: dict[str, Any] = {
        "format": CACHE_FORMAT,
        "method": cache.method,
        "params_tag": cache.params_tag,
    }
    arrays: dict[str, NDArray[Any]] = {}
    if isinstance(cache, HostCache):
        meta.update(
            role="host",
            guest=cache.guest,
            cache_id=cache.cache_id,
            key=[str(k) for k in cache.key],
            secret=cache.secret.hex(),
            ids_digest=cache.ids_digest,
        )
        arrays["order"] = np.asarray(cache.order, dtype=np.int64)
    else:
        meta["role"] = "guest"
        meta["hosts"] = {
            str(h): {"cache_id": e.cache_id, "key_tag": e.key_tag} for h, e in cache.entries.items()
        }
        for h, e in cache.entries.items():
            arrays[f"values/{h}"] = np.ascontiguousarray(e.values, dtype=np.uint8)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return arrays


def from_arrays(arrays: Mapping[str, NDArray[Any]]) -> HostCache | GuestCache:
    """The inverse of :func:`to_arrays`; IntersectionError for anything malformed."""
    try:
        meta = json.loads(np.asarray(arrays["meta"], dtype=np.uint8).tobytes())
        if meta["format"] != CACHE_FORMAT:
            raise ValueError(f"unknown cache format {meta['format']!r}")
        method, tag = str(meta["method"]), str(meta["params_tag"])
        if meta["role"] == "host":
            order = np.asarray(arrays["order"])
            if order.dtype != np.int64 or order.ndim != 1:
                raise ValueError("order must be a 1-D int64 array")
            if not np.array_equal(np.sort(order), np.arange(len(order))):
                raise ValueError("order is not a permutation")
            return HostCache(
                method,
                tag,
                int(meta["guest"]),
                str(meta["cache_id"]),
                tuple(int(k) for k in meta["key"]),
                bytes.fromhex(meta["secret"]),
                str(meta["ids_digest"]),
                order,
            )
        if meta["role"] != "guest":
            raise ValueError(f"unknown cache role {meta['role']!r}")
        entries = {}
        for host, info in meta["hosts"].items():
            values = np.asarray(arrays[f"values/{host}"])
            if values.dtype != np.uint8 or values.ndim != 2:
                raise ValueError("cached values must be a 2-D uint8 array")
            entries[int(host)] = GuestEntry(str(info["cache_id"]), str(info["key_tag"]), values)
        return GuestCache(method, tag, entries)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IntersectionError(f"not a readable intersection cache: {exc}") from exc
