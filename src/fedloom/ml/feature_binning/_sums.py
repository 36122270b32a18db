"""Per-bin homomorphic sums at a host, on this party's cores.

The rows are split into one range per core: worker processes (spawned, local to the party)
sum their ranges while the calling process sums the first, and the partial sums of each bin are
added at the end. A worker receives this party's own material only: the guest's public key,
a range of the guest's ciphertexts and the bin of each of those rows. The worker count follows
the crypto pool's (``FEDLOOM_CRYPTO_WORKERS``); the processes start when the host begins its
task, while it waits for the guest's ciphertexts, and stop when the sums are done.
"""

from __future__ import annotations

import itertools
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType

import gmpy2
import numpy as np
from numpy.typing import NDArray

from fedloom.crypto import OUPublicKey, PaillierPublicKey, PlainPublicKey, PublicKey
from fedloom.crypto.cipher import Mpz
from fedloom.crypto.parallel import active_pool

Groups = NDArray[np.int64]
MIN_ROWS_PER_WORKER = 2048
"""Ranges smaller than this are summed in the calling process."""
_KEYS: dict[str, type[PublicKey]] = {
    "paillier": PaillierPublicKey,
    "ou": OUPublicKey,
    "plain": PlainPublicKey,
}


def partial_sums(
    key: PublicKey, ciphertexts: list[Mpz], groups: Groups, size: int
) -> list[Mpz | None]:
    """The homomorphic sum of each group ``0..size-1`` of ``ciphertexts`` (None: empty).

    Pairs within every group are added in rounds, one vectorised ``raw_add`` per round: N
    values cost N − size additions in about log2(N/size) calls.
    """
    order = np.argsort(groups, kind="stable")
    counts = np.bincount(groups, minlength=size)
    buckets: list[list[Mpz]] = []
    start = 0
    for count in counts.tolist():
        buckets.append([ciphertexts[i] for i in order[start : start + count].tolist()])
        start += count
    while any(len(b) > 1 for b in buckets):
        left: list[Mpz] = []
        right: list[Mpz] = []
        for b in buckets:
            half = len(b) // 2
            left.extend(b[:half])
            right.extend(b[half : 2 * half])
        added = key.raw_add(left, right)
        position = 0
        for k, b in enumerate(buckets):
            half = len(b) // 2
            buckets[k] = added[position : position + half] + b[2 * half :]
            position += half
    return [b[0] if b else None for b in buckets]


def _all_sums(
    key: PublicKey, ciphertexts: list[Mpz], bins: Groups, sizes: list[int]
) -> list[Mpz | None]:
    out: list[Mpz | None] = []
    for j, size in enumerate(sizes):
        out.extend(partial_sums(key, ciphertexts, bins[:, j], size))
    return out


def _worker_sums(
    scheme: str, key_bytes: bytes, ciphertexts: list[int], bins: Groups, sizes: list[int]
) -> list[int | None]:
    """Worker side: the partial sums of one row range (plain ints cross the process pipe)."""
    key = _KEYS[scheme].from_bytes(key_bytes)  # type: ignore[attr-defined]
    values = [gmpy2.mpz(c) for c in ciphertexts]
    return [None if s is None else int(s) for s in _all_sums(key, values, bins, sizes)]


def _ready() -> bool:
    return True


class SumWorkers:
    """This party's processes for per-bin sums (none with one core); a context manager."""

    def __init__(self, workers: int | None = None, rows: int | None = None) -> None:
        """``workers`` processes in all (default: the crypto pool's count), fewer when ``rows``
        would give a process less than :data:`MIN_ROWS_PER_WORKER` rows."""
        if workers is None:
            pool = active_pool()
            workers = pool.workers if pool is not None else 1
        if rows is not None:
            workers = min(workers, rows // MIN_ROWS_PER_WORKER)
        self.workers = max(1, workers)
        self._executor: ProcessPoolExecutor | None = None
        self._warm: list[Future[bool]] = []

    def __enter__(self) -> SumWorkers:
        if self.workers > 1:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers - 1, mp_context=multiprocessing.get_context("spawn")
            )
            self._warm = [self._executor.submit(_ready) for _ in range(self.workers - 1)]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def sums(
        self, key: PublicKey, ciphertexts: list[Mpz], bins: Groups, sizes: list[int]
    ) -> list[Mpz]:
        """Per column j (``bins[:, j]``, ``sizes[j]`` bins) and bin, the sum of its rows'
        ciphertexts; an empty bin gets a fresh encryption of 0."""
        rows = len(ciphertexts)
        parts = 1 if self._executor is None else min(self.workers, rows // MIN_ROWS_PER_WORKER)
        bounds = np.linspace(0, rows, max(parts, 1) + 1).astype(int).tolist()
        jobs = []
        if self._executor is not None:
            body = key.to_bytes()
            for lo, hi in itertools.pairwise(bounds[1:]):
                chunk = [int(c) for c in ciphertexts[lo:hi]]
                jobs.append(
                    self._executor.submit(_worker_sums, key.scheme, body, chunk, bins[lo:hi], sizes)
                )
        totals = _all_sums(key, ciphertexts[: bounds[1]], bins[: bounds[1]], sizes)
        for job in jobs:
            part = job.result()
            present = [k for k, v in enumerate(part) if v is not None]
            missing = {k for k in present if totals[k] is None}
            for k in missing:
                totals[k] = gmpy2.mpz(part[k])
            both = [k for k in present if k not in missing]
            added = key.raw_add(
                [totals[k] for k in both],
                [gmpy2.mpz(part[k]) for k in both],
            )
            for k, value in zip(both, added, strict=True):
                totals[k] = value
        empty = [k for k, v in enumerate(totals) if v is None]
        zeros = iter(key.raw_encrypt([gmpy2.mpz(0)] * len(empty)))
        return [v if v is not None else next(zeros) for v in totals]
