"""Bloom-filter preprocessing before the PSI (FATE's ``run_preprocess``).

The ``filter_owner`` hashes its ids (``preprocess_method`` over ``preprocess_salt`` and the
id), inserts them into a Bloom filter sized for ``false_positive_rate``, and sends the filter
(tag ``preprocess_filter``); the other side keeps only its ids that the filter may contain and
runs the real PSI on those. With several hosts and ``filter_owner: host`` the guest keeps the
ids that pass *every* host's filter.

**What it reveals.** The filter is a membership oracle for the owner's set: the receiver learns,
for each of its own ids, whether the owner (probably) has it — the intersection, up to false
positives at ``false_positive_rate`` — before any PSI, and it can test any id it can guess
(phone numbers, ...). The owner in turn learns about how many ids passed (the PSI input size
it sees next). Use it only where the receiver may know the intersection anyway.

Index hashing: ``hash_method(seed, item)`` gives two 64-bit numbers ``h1, h2`` and the ``i``-th
index is ``(h1 + i·h2) mod m`` (Kirsch–Mitzenmacher). The 16-byte ``seed`` is fresh OS
randomness per run, or derived from ``random_state`` (then the filter is the same in every run
over the same ids, so runs can be linked).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fedloom.federation import Context
from fedloom.ml.psi.common import IntersectionError
from fedloom.ml.psi.params import SAFE_HASHES, PreprocessParams

FILTER = "preprocess_filter"
SEED_BYTES = 16
MAX_FILTER_BITS = 1 << 33
"""Largest filter accepted from a peer (1 GiB)."""
MAX_HASHES = 64
_ITEM_DOMAIN = b"fedloom/psi/bloom-item/v1\x00"
_SEED_DOMAIN = b"fedloom/psi/bloom-seed/v1\x00"

Mask = NDArray[np.bool_]


def encode_items(ids: Sequence[str], params: PreprocessParams) -> list[bytes]:
    """``preprocess_method(domain, len(salt), salt, id)`` per id: what the filter holds."""
    salt = params.preprocess_salt.encode("utf-8")
    prefix = hashlib.new(params.preprocess_method)
    prefix.update(_ITEM_DOMAIN + len(salt).to_bytes(8, "big") + salt)
    out = []
    for x in ids:
        h = prefix.copy()
        h.update(x.encode("utf-8"))
        out.append(h.digest())
    return out


def filter_size(count: int, false_positive_rate: float) -> tuple[int, int]:
    """``(bits, hashes)`` of a filter over ``count`` items at ``false_positive_rate``."""
    n = max(count, 1)
    bits = max(64, math.ceil(-n * math.log(false_positive_rate) / math.log(2) ** 2))
    hashes = max(1, min(MAX_HASHES, round(bits / n * math.log(2))))
    return bits, hashes


@dataclass(frozen=True, eq=False)
class BloomFilter:
    """A Bloom filter: ``num_bits`` bits (packed, big-endian bit order), ``num_hashes``, seed."""

    bits: NDArray[np.uint8]
    num_bits: int
    num_hashes: int
    seed: bytes
    hash_method: str

    def _indices(self, items: Sequence[bytes]) -> NDArray[np.uint64]:
        prefix = hashlib.new(self.hash_method)
        prefix.update(self.seed)
        raw = bytearray()
        for item in items:
            h = prefix.copy()
            h.update(item)
            raw += h.digest()[:16]
        pairs = np.frombuffer(bytes(raw), dtype=">u8").reshape(len(items), 2).astype(np.uint64)
        h1, h2 = pairs[:, 0], pairs[:, 1] | np.uint64(1)
        steps = np.arange(self.num_hashes, dtype=np.uint64)
        with np.errstate(over="ignore"):
            combined = h1[:, None] + steps[None, :] * h2[:, None]
        return combined % np.uint64(self.num_bits)

    @classmethod
    def build(cls, items: Sequence[bytes], params: PreprocessParams) -> BloomFilter:
        """A filter holding ``items``, sized for ``params.false_positive_rate``."""
        num_bits, num_hashes = filter_size(len(items), params.false_positive_rate)
        if params.random_state is None:
            seed = secrets.token_bytes(SEED_BYTES)
        else:
            state = str(params.random_state).encode()
            seed = hashlib.sha256(_SEED_DOMAIN + state).digest()[:SEED_BYTES]
        empty = np.zeros((num_bits + 7) // 8, dtype=np.uint8)
        bloom = cls(empty, num_bits, num_hashes, seed, params.hash_method)
        flags = np.zeros(num_bits, dtype=bool)
        if items:
            flags[bloom._indices(items).ravel().astype(np.int64)] = True
        return cls(np.packbits(flags), num_bits, num_hashes, seed, params.hash_method)

    def contains(self, items: Sequence[bytes]) -> Mask:
        """Per item, whether the filter may hold it (no false negatives)."""
        if not items:
            return np.zeros(0, dtype=bool)
        idx = self._indices(items).astype(np.int64)
        bit = (self.bits[idx >> 3] >> (7 - (idx & 7)).astype(np.uint8)) & 1
        found: Mask = np.all(bit == 1, axis=1)
        return found

    def to_message(self) -> dict[str, Any]:
        """The wire form."""
        return {
            "bits": self.bits,
            "num_bits": self.num_bits,
            "num_hashes": self.num_hashes,
            "seed": self.seed,
            "hash_method": self.hash_method,
        }

    @classmethod
    def from_message(cls, value: object, params: PreprocessParams, peer: object) -> BloomFilter:
        """A filter received from ``peer``, checked for shape, size and parameters."""
        if not isinstance(value, dict):
            raise IntersectionError(f"{peer}: malformed {FILTER} message")
        bits, num_bits, num_hashes = (
            value.get("bits"),
            value.get("num_bits"),
            value.get("num_hashes"),
        )
        seed, method = value.get("seed"), value.get("hash_method")
        if method != params.hash_method or method not in SAFE_HASHES:
            raise IntersectionError(f"{peer}'s filter uses another hash_method than ours")
        if (
            isinstance(num_bits, bool)
            or not isinstance(num_bits, int)
            or not 64 <= num_bits <= MAX_FILTER_BITS
        ):
            raise IntersectionError(f"{peer}: the filter's size is out of bounds")
        if isinstance(num_hashes, bool) or not isinstance(num_hashes, int):
            raise IntersectionError(f"{peer}: the filter's hash count is not an int")
        if not 1 <= num_hashes <= MAX_HASHES:
            raise IntersectionError(f"{peer}: the filter's hash count is out of bounds")
        if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
            raise IntersectionError(f"{peer}: the filter's seed must be {SEED_BYTES} bytes")
        if (
            not isinstance(bits, np.ndarray)
            or bits.dtype != np.uint8
            or bits.shape != ((num_bits + 7) // 8,)
        ):
            raise IntersectionError(f"{peer}: the filter's bits do not match its size")
        return cls(bits, num_bits, num_hashes, seed, method)


def preprocess_guest(ctx: Context, params: PreprocessParams, ids: Sequence[str]) -> Mask:
    """The guest's side: send its filter to every host, or keep its ids in every host's."""
    items = encode_items(ids, params)
    if params.filter_owner == "guest":
        ctx.hosts.put(FILTER, BloomFilter.build(items, params).to_message())
        return np.ones(len(ids), dtype=bool)
    keep = np.ones(len(ids), dtype=bool)
    for host in ctx.hosts:
        keep &= BloomFilter.from_message(host.get(FILTER), params, host.party).contains(items)
    return keep


def preprocess_host(ctx: Context, params: PreprocessParams, ids: Sequence[str]) -> Mask:
    """A host's side: send its filter to the guest, or keep its ids in the guest's."""
    items = encode_items(ids, params)
    if params.filter_owner == "host":
        ctx.guest.put(FILTER, BloomFilter.build(items, params).to_message())
        return np.ones(len(ids), dtype=bool)
    received = ctx.guest.get(FILTER)
    return BloomFilter.from_message(received, params, ctx.guest.party).contains(items)
