"""Local worker processes that share one party's PSI crypto (the compute side of a run).

A run of :class:`~fedloom.ml.psi.IntersectionGuest` or :class:`~fedloom.ml.psi.IntersectionHost`
splits each batch into chunks and hands them to a :class:`Workers` pool: spawned processes of
the same party on the same machine, started for the run and stopped when it ends. With one
worker everything runs inline in the calling process (small inputs, tests, ``workers=1``).

The protocol loops stay in the calling process and keep talking to the peer while the workers
compute, so a party whose peer is busy uses every core, and the two parties' work overlaps.
What a worker receives is this party's own ids, key material and the raw bytes of batches
(``kernels.py``); results come back as bytes.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any

from fedloom.ml.psi.kernels import Kernel, run_in_worker

PARALLEL_MIN_IDS = 50_000
"""With ``workers=None``, inputs smaller than this run inline (a pool costs ~1 s to start)."""
MAX_AUTO_WORKERS = 8
MIN_CHUNK_ROWS = 256
"""Smallest chunk a batch is split into for the workers."""


def resolve_workers(workers: int | None, count: int) -> int:
    """How many worker processes a run over ``count`` ids uses.

    ``None``: one per CPU (at most :data:`MAX_AUTO_WORKERS`) from :data:`PARALLEL_MIN_IDS`
    ids up, else 1 (inline). An explicit count must be positive.
    """
    if workers is None:
        if count < PARALLEL_MIN_IDS:
            return 1
        return max(1, min(os.cpu_count() or 1, MAX_AUTO_WORKERS))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int or None, got {workers!r}")
    return workers


def check_workers(workers: int | None) -> int | None:
    """``workers`` if it is None or a positive int, else ValueError (checked at construction)."""
    if workers is not None:
        resolve_workers(workers, 0)
    return workers


class Workers:
    """A pool of ``count`` spawned worker processes for kernels, or inline when ``count == 1``.

    Use as a context manager; leaving it stops the workers (and cancels pending chunks).
    """

    def __init__(self, count: int) -> None:
        self.count = resolve_workers(count, 0)
        self._executor: ProcessPoolExecutor | None = None
        if self.count > 1:
            self._executor = ProcessPoolExecutor(
                max_workers=self.count, mp_context=multiprocessing.get_context("spawn")
            )

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers; chunks not started yet are cancelled. Idempotent."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def split(self, rows: int) -> list[tuple[int, int]]:
        """``(start, stop)`` of the chunks a batch of ``rows`` rows is cut into (one per worker,
        none smaller than :data:`MIN_CHUNK_ROWS` unless the batch is)."""
        parts = max(1, min(self.count, rows // MIN_CHUNK_ROWS))
        base, extra = divmod(rows, parts)
        bounds, start = [], 0
        for i in range(parts):
            stop = start + base + (1 if i < extra else 0)
            bounds.append((start, stop))
            start = stop
        return bounds

    def submit(self, kernel: Kernel, method: str, *args: Any) -> Future[Any]:
        """``kernel.method(*args)`` in a worker; inline (already done) without workers."""
        if self._executor is not None:
            return self._executor.submit(run_in_worker, kernel.spec, method, *args)
        done: Future[Any] = Future()
        try:
            done.set_result(getattr(kernel, method)(*args))
        except Exception as exc:
            done.set_exception(exc)
        return done


class Chunked:
    """The futures of one batch's chunks; :meth:`join` waits and concatenates their bytes."""

    def __init__(self, futures: list[Future[Any]]) -> None:
        self.futures = futures

    def results(self) -> list[Any]:
        """Every chunk's result, in order (raises the first chunk error)."""
        return [f.result() for f in self.futures]

    def join(self) -> bytes:
        """The chunks' bytes, concatenated in order."""
        return b"".join(self.results())
