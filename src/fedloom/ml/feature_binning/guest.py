"""Feature binning at the guest: its own columns' WOE/IV, and the hosts' from encrypted sums.

The guest generates the key pair (there is no arbiter). For each host it encrypts, afresh,
one value per row packing the row's count and its one-vs-rest label indicators in slots of
``⌈log2(rows)⌉ + 1`` bits: ``1 + Σ_c [y = c]·2^(s·(c+1))`` (binary labels: one class, the
event ``y = 1``). The host's per-bin sums decrypt to the bin's row count and per-class event
counts at once. The guest checks every host column's counts add up to its own totals before
using them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fedloom.crypto import (
    CipherVector,
    EncodingOverflowError,
    PaillierPrivateKey,
    PrivateKey,
    PublicKey,
)
from fedloom.crypto.keys import generate_keypair
from fedloom.crypto.parallel import active_pool
from fedloom.crypto.phe_backend import private_key_with_backend, with_backend
from fedloom.federation import Context, FederationError, PartyHandle
from fedloom.ml.feature_binning._common import (
    MAX_BINS,
    ColumnBins,
    check_matrix,
    expect,
    fit_columns,
    int_list,
    merged,
    task_message,
)
from fedloom.ml.feature_binning.optimal import optimal_ends
from fedloom.ml.feature_binning.params import BinningConfig, ColumnSpec
from fedloom.ml.feature_binning.woe import class_counts, woe_iv

KeyPair = tuple[PublicKey, PrivateKey]
KeyGen = Callable[[int], KeyPair]
Counts = list[tuple[NDArray[np.int64], NDArray[np.int64]]]


@dataclass
class HostColumn:
    """What the guest learns of one host column: its position and per-class statistics."""

    index: int
    stats: list[dict[str, Any]]


@dataclass
class GuestBinning:
    """The guest's result: its columns (split points, bins) with per-class statistics, the
    classes (``[1.0]`` for binary labels: the event is ``y = 1``), and each host's columns."""

    columns: list[ColumnBins]
    stats: list[list[dict[str, Any]]]
    classes: list[float]
    hosts: list[tuple[int, list[HostColumn]]] = field(default_factory=list)


def label_classes(labels: NDArray[np.float64]) -> list[float]:
    """``[1.0]`` for 0/1 labels (one event class); every value (one-vs-rest) otherwise."""
    values = np.unique(labels)
    if np.all(np.isin(values, (0.0, 1.0))):
        return [1.0]
    return [float(v) for v in values]


class BinningGuest:
    """The guest's side of HeteroFeatureBinning; ``keygen`` replaces key generation (tests)."""

    def __init__(self, config: BinningConfig | None = None, *, keygen: KeyGen | None = None):
        self.config = config or BinningConfig()
        self.keygen = keygen

    def fit(
        self, ctx: Context, x: ArrayLike, columns: list[ColumnSpec], labels: ArrayLike | None
    ) -> GuestBinning:
        """Bin ``columns`` of ``x``; with statistics, every host's columns too."""
        config = self.config
        matrix = check_matrix(x, columns)
        fitted = fit_columns(matrix, columns, config)
        stats = not config.skip_static
        optimal = config.method == "optimal"
        if optimal and not stats:
            raise ValueError("optimal binning needs the label statistics: not with skip_static")
        remote = stats and not config.local_only and bool(ctx.parties.hosts)
        if ctx.parties.hosts:
            ctx.hosts.put("task", task_message(remote, optimal and remote))
        if not stats:
            return GuestBinning(fitted, [[] for _ in fitted], [])
        if labels is None:
            raise ValueError("the guest needs labels for WOE and IV (or set skip_static)")
        y = np.asarray(labels, dtype=np.float64).reshape(-1)
        if y.size != matrix.shape[0] or not np.all(np.isfinite(y)):
            raise ValueError("the guest needs one finite label per row")
        classes = label_classes(y)
        if optimal and len(classes) > 1:
            raise ValueError("optimal binning of multi-class labels is not supported")
        fitted = [self._optimal(col, y) if optimal and col.mergeable else col for col in fitted]
        own = [
            [woe_iv(e, n, config.adjustment_factor) for e, n in self._counts(col, y, classes)]
            for col in fitted
        ]
        result = GuestBinning(fitted, own, classes)
        if remote:
            public, private = self._keys()
            for host in ctx.hosts:
                host_id = host.party.party_id
                result.hosts.append((host_id, self._host(host, public, private, y, classes)))
        return result

    def _counts(self, col: ColumnBins, y: NDArray[np.float64], classes: list[float]) -> Counts:
        counts: Counts = class_counts(col.bins, y, classes, col.size)
        return counts

    def _optimal(self, col: ColumnBins, y: NDArray[np.float64]) -> ColumnBins:
        (events, non_events), *_ = self._counts(col, y, [1.0])
        return merged(col, self._ends(events, non_events))

    def _ends(self, events: NDArray[np.int64], non_events: NDArray[np.int64]) -> list[int]:
        config = self.config
        return optimal_ends(
            events, non_events, config.optimal, config.bin_num, config.adjustment_factor
        )

    def _keys(self) -> KeyPair:
        encrypt = self.config.encrypt
        if self.keygen is None:
            return generate_keypair(encrypt.method, encrypt.key_length, encrypt.backend)
        public, private = self.keygen(encrypt.key_length)
        return with_backend(public, encrypt.backend), private_key_with_backend(
            private, encrypt.backend
        )

    def _host(
        self,
        host: PartyHandle,
        public: PublicKey,
        private: PrivateKey,
        y: NDArray[np.float64],
        classes: list[float],
    ) -> list[HostColumn]:
        """Send one host the encrypted labels; decrypt and check its per-bin sums."""
        rows = y.size
        slot = rows.bit_length() + 1
        slots = len(classes) + 1
        limit = int(public.codec.max_int).bit_length() - 2 - 64 - rows.bit_length()
        if slot * slots > limit:
            raise ValueError(
                f"{len(classes)} label classes do not fit one {public.scheme} plaintext "
                f"({limit} bits); use fewer classes or a longer key"
            )
        packed = (
            [
                1 + sum(int(y[i] == c) << (slot * (k + 1)) for k, c in enumerate(classes))
                for i in range(rows)
            ]
            if len(classes) > 1
            else (1 + (y == 1.0).astype(np.int64) * (1 << slot)).tolist()
        )
        # The key owner's CRT encryption is cheaper on one core; the public key's blinding
        # factors come from the worker pool when there is one.
        owner = isinstance(private, PaillierPrivateKey) and active_pool() is None
        encoder = private.owner_public_key() if owner else public  # type: ignore[attr-defined]
        cipher = encoder.raw_encrypt(public.codec.encode_ints(packed))
        host.put("pubkey", public)
        host.put("labels", CipherVector(public, cipher, 0, max(slot * slots, 64)))
        reply = expect(host.get("bin_sums"), dict, "bin_sums", host)
        index = int_list(reply.get("columns"), "columns", host)
        sizes = int_list(reply.get("bins"), "bins", host)
        mergeable = reply.get("mergeable")
        sums = reply.get("sums")
        total = sum(sizes)
        if (
            len(index) != len(sizes)
            or len(set(index)) != len(index)
            or not isinstance(mergeable, list)
            or len(mergeable) != (len(sizes) if self.config.method == "optimal" else 0)
            or not all(isinstance(m, bool) for m in mergeable)
            or not all(s >= 1 for s in sizes)
            or total > MAX_BINS
            or not isinstance(sums, CipherVector)
            or sums.public_key != public
            or len(sums) != total
        ):
            raise FederationError(f"{host.party} sent malformed bin sums")
        try:
            values = public.codec.decode_ints(private.decrypt_raw(sums).elements)
        except EncodingOverflowError:
            raise FederationError(f"{host.party} sent bin sums out of range") from None
        if any(v < 0 or v >> (slot * slots) for v in values):
            raise FederationError(f"{host.party} sent bin sums out of range")
        mask = (1 << slot) - 1
        unpacked = np.array(
            [[(v >> (slot * j)) & mask for j in range(slots)] for v in values], dtype=np.int64
        ).reshape(total, slots)
        expected = [int(rows)] + [int(np.sum(y == c)) for c in classes]
        out, plans, start = [], [], 0
        merges = mergeable or [False] * len(sizes)
        for position, size, merge in zip(index, sizes, merges, strict=True):
            block = unpacked[start : start + size]
            start += size
            if block[:, 0].sum() != rows or block.sum(axis=0).tolist() != expected:
                raise FederationError(f"{host.party} sent bin sums that do not add up")
            if self.config.method == "optimal":
                ends = self._ends(block[:, 1], block[:, 0] - block[:, 1]) if merge else None
                plans.append(ends)
                if ends is not None:
                    stops = np.asarray(ends)
                    groups = np.searchsorted(stops, np.arange(size), side="left")
                    block = np.array([block[groups == g].sum(axis=0) for g in range(len(ends))])
            stats = [
                woe_iv(
                    block[:, k + 1], block[:, 0] - block[:, k + 1], self.config.adjustment_factor
                )
                for k in range(len(classes))
            ]
            out.append(HostColumn(position, stats))
        if self.config.method == "optimal":
            host.put("merges", plans)
        return out
