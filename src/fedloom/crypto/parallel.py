"""Spread Paillier work over local worker processes (several cores of one party's machine).

The pool is a process-wide resource, off by default: :func:`configure_workers` (or the
``FEDLOOM_CRYPTO_WORKERS`` variable) turns it on. Workers are *spawned* local processes, so a
forked copy of threads (gRPC, the flow) never runs in them. What they compute:

- blinding factors ``r^n mod n²`` (encryption and re-randomisation): only ``n`` is sent; each
  worker keeps its own DJN base and tables, so the randomness of different workers is
  independent;
- columns of the gradient product on the gmpy2 path (the ciphertexts and one column of
  exponents per job); the native engine runs the gradient product on threads instead, as many
  as there are workers;
- chunks of a decryption: the key owner's factors p, q go to its own worker processes through a
  local pipe, never over a network.

Small vectors stay in the calling process: below :data:`MIN_PARALLEL` elements the transfer
costs more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from functools import lru_cache

import gmpy2

from fedloom.crypto.cipher import Mpz

_Submit = Callable[[int], "Future[list[Mpz]]"]

MIN_PARALLEL = 256
"""Vectors shorter than this are computed in the calling process."""

WORKERS_ENV = "FEDLOOM_CRYPTO_WORKERS"


class CryptoPool:
    """A pool of worker processes for blinding factors, gradient products and decryption."""

    def __init__(self, workers: int) -> None:
        if workers < 2:
            raise ValueError("a crypto pool needs at least 2 workers")
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )
        self._prefetched: dict[tuple[object, ...], deque[Future[list[Mpz]]]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Stop the workers."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _split(self, count: int) -> list[int]:
        parts = min(self.workers, max(1, count // (MIN_PARALLEL // 2)))
        base, extra = divmod(count, parts)
        return [base + (1 if i < extra else 0) for i in range(parts)]

    def _queue(self, key: tuple[object, ...], submit: _Submit, count: int) -> None:
        jobs = [submit(c) for c in self._split(count) if c]
        with self._lock:
            self._prefetched.setdefault(key, deque()).extend(jobs)

    def _take(self, key: tuple[object, ...], submit: _Submit, count: int) -> list[Mpz]:
        """``count`` results, prefetched ones first, the rest computed now."""
        out: list[Mpz] = []
        with self._lock:
            queue = self._prefetched.get(key, deque())
            while queue and len(out) < count:
                out.extend(queue.popleft().result())
        if len(out) > count:
            # Hand the surplus back so no factor is ever used twice or thrown away.
            surplus = out[count:]
            done: Future[list[Mpz]] = Future()
            done.set_result(surplus)
            with self._lock:
                self._prefetched.setdefault(key, deque()).appendleft(done)
            return out[:count]
        missing = count - len(out)
        if missing:
            jobs = [submit(c) for c in self._split(missing) if c]
            for job in jobs:
                out.extend(job.result())
        return out

    def _factor_job(self, n: Mpz, mode: str) -> _Submit:
        return lambda c: self._executor.submit(_factors, int(n), mode, c)

    def _power_job(self, base: Mpz, modulus: Mpz, bits: int) -> _Submit:
        return lambda c: self._executor.submit(_powers, int(base), int(modulus), bits, c)

    def prefetch(self, n: Mpz, mode: str, count: int) -> None:
        """Start computing ``count`` Paillier blinding factors for ``n`` in the background."""
        self._queue((int(n), mode), self._factor_job(n, mode), count)

    def factors(self, n: Mpz, mode: str, count: int) -> list[Mpz]:
        """``count`` fresh Paillier blinding factors, taking prefetched ones first."""
        return self._take((int(n), mode), self._factor_job(n, mode), count)

    def prefetch_powers(self, base: Mpz, modulus: Mpz, bits: int, count: int) -> None:
        """Start computing ``count`` powers base^r (fresh r of ``bits`` bits) in the background."""
        key = ("pow", int(base), int(modulus), bits)
        self._queue(key, self._power_job(base, modulus, bits), count)

    def powers(self, base: Mpz, modulus: Mpz, bits: int, count: int) -> list[Mpz]:
        """``count`` values base^r mod modulus, each with a fresh uniform r of ``bits`` bits.

        For public bases only (e.g. Okamoto–Uchiyama's H): the worker draws r and keeps it.
        """
        key = ("pow", int(base), int(modulus), bits)
        return self._take(key, self._power_job(base, modulus, bits), count)

    def dot(self, modulus: Mpz, bases: Sequence[Mpz], columns: list[list[int]]) -> list[Mpz]:
        """Column-wise multi-exponentiation mod ``modulus`` with gmpy2 over the workers.

        (The native engine needs no processes: it runs on threads of the calling process, see
        :func:`fedloom.crypto._groupops.column_products`.) Work is shared by columns when there
        are at least as many columns as workers, and otherwise by rows: each worker then takes
        every column over a contiguous share of the rows, and the partial products are
        multiplied here. Either way the result is the same.
        """
        if len(columns) >= self.workers:
            return self._dot_by_columns(modulus, bases, columns)
        return self._dot_by_rows(modulus, bases, columns)

    def _dot_by_columns(
        self, modulus: Mpz, bases: Sequence[Mpz], columns: list[list[int]]
    ) -> list[Mpz]:
        plain_bases = [int(b) for b in bases]
        shares = [list(range(w, len(columns), self.workers)) for w in range(self.workers)]
        jobs = [
            (
                share,
                self._executor.submit(_dot, int(modulus), plain_bases, [columns[j] for j in share]),
            )
            for share in shares
            if share
        ]
        out: list[Mpz] = [gmpy2.mpz(1)] * len(columns)
        for share, job in jobs:
            for j, value in zip(share, job.result(), strict=True):
                out[j] = value
        return out

    def _dot_by_rows(
        self, modulus: Mpz, bases: Sequence[Mpz], columns: list[list[int]]
    ) -> list[Mpz]:
        jobs, start = [], 0
        for size in self._split(len(bases)):
            chunk = [int(b) for b in bases[start : start + size]]
            parts = [column[start : start + size] for column in columns]
            jobs.append(self._executor.submit(_dot, int(modulus), chunk, parts))
            start += size
        out: list[Mpz] = [gmpy2.mpz(1)] * len(columns)
        for job in jobs:
            out = [acc * part % modulus for acc, part in zip(out, job.result(), strict=True)]
        return out

    def decrypt(self, p: Mpz, q: Mpz, ciphertexts: Sequence[Mpz]) -> list[Mpz]:
        """Raw CRT decryption in chunks."""
        sizes = self._split(len(ciphertexts))
        jobs, start = [], 0
        for size in sizes:
            chunk = [int(c) for c in ciphertexts[start : start + size]]
            jobs.append(self._executor.submit(_decrypt, int(p), int(q), chunk))
            start += size
        out: list[Mpz] = []
        for job in jobs:
            out.extend(job.result())
        return out


_state: dict[str, CryptoPool | None] = {"pool": None}
_state_lock = threading.Lock()


def configure_workers(workers: int) -> None:
    """Use ``workers`` processes for large vectors (1 turns the pool off)."""
    with _state_lock:
        old = _state["pool"]
        _state["pool"] = CryptoPool(workers) if workers > 1 else None
    if old is not None:
        old.close()


@contextmanager
def suspended() -> Iterator[None]:
    """Run the enclosed block without the pool (for side-by-side one-core measurements)."""
    with _state_lock:
        pool = _state["pool"]
        _state["pool"] = None
    try:
        yield
    finally:
        with _state_lock:
            _state["pool"] = pool


def active_pool() -> CryptoPool | None:
    """The configured pool, creating it from ``FEDLOOM_CRYPTO_WORKERS`` on first use."""
    with _state_lock:
        if _state["pool"] is None and "env_checked" not in _state:
            _state["env_checked"] = None
            raw = os.environ.get(WORKERS_ENV, "").strip()
            if raw:
                try:
                    workers = int(raw)
                except ValueError:
                    raise ValueError(f"{WORKERS_ENV} must be a whole number, got {raw!r}") from None
                if workers > 1:
                    _state["pool"] = CryptoPool(workers)
        return _state["pool"]


# -- worker side ----------------------------------------------------------------------------


# A busy key's tables take ~172 MB at 2048 bits: keep those of two keys per worker at most.
@lru_cache(maxsize=2)
def _blinding(n: int, mode: str) -> object:
    from fedloom.crypto.randomness import BlindingSource

    return BlindingSource(gmpy2.mpz(n), mode)  # type: ignore[arg-type]


def _factors(n: int, mode: str, count: int) -> list[Mpz]:
    source = _blinding(n, mode)
    return source.local_factors(count)  # type: ignore[attr-defined, no-any-return]


def _dot(modulus_int: int, bases: list[int], columns: list[list[int]]) -> list[Mpz]:
    from fedloom.crypto.multiexp import signed_multi_exp

    modulus = gmpy2.mpz(modulus_int)
    mp_bases = [gmpy2.mpz(b) for b in bases]
    return [signed_multi_exp(mp_bases, column, modulus) for column in columns]


def _powers(base: int, modulus: int, bits: int, count: int) -> list[Mpz]:
    from fedloom.crypto.randomness import random_powers

    return random_powers(gmpy2.mpz(base), gmpy2.mpz(modulus), bits, count)


@lru_cache(maxsize=4)
def _private(p: int, q: int) -> object:
    from fedloom.crypto.paillier import PaillierPrivateKey, PaillierPublicKey

    return PaillierPrivateKey(PaillierPublicKey(p * q), p, q)


def _decrypt(p: int, q: int, ciphertexts: list[int]) -> list[Mpz]:
    key = _private(p, q)
    return key.local_decrypt([gmpy2.mpz(c) for c in ciphertexts])  # type: ignore[attr-defined, no-any-return]
