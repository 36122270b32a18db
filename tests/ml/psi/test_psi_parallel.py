"""Tests of the PSI compute path: worker pools, kernels, chunking and the matching of values."""

from __future__ import annotations

import itertools
import os
import pickle
from collections.abc import Iterator

import numpy as np
import pytest
from psi_support import (
    METHODS,
    check_known,
    guest_result,
    host_results,
    make_ids,
    run_psi,
)

from fedloom.crypto import rsa_blind, x25519
from fedloom.ml.psi import IntersectionError, IntersectionGuest, IntersectionHost
from fedloom.ml.psi.common import DIGEST_BYTES, match_rows
from fedloom.ml.psi.host import _answer, _Host
from fedloom.ml.psi.kernels import (
    ECDHKernel,
    RSAGuestKernel,
    RSAHostKernel,
    build,
    run_in_worker,
)
from fedloom.ml.psi.params import IntersectParam
from fedloom.ml.psi.workers import (
    MAX_AUTO_WORKERS,
    MIN_CHUNK_ROWS,
    PARALLEL_MIN_IDS,
    Workers,
    resolve_workers,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pool() -> Iterator[Workers]:
    with Workers(2) as workers:
        yield workers


# 2048-bit DH would take over a minute here; its worker path is covered, on fewer ids, by
# test_psi.py::test_what_each_party_receives[workers-dh].
@pytest.mark.parametrize("method", [m for m in METHODS if m != "dh"])
def test_worker_pools_give_the_same_intersection(method: str) -> None:
    # Batches of 700 ids are cut into two chunks, one per worker process.
    guest = make_ids("user", 0, 1500)[::-1]
    host_a = make_ids("user", 600, 2400)
    host_b = make_ids("user", 0, 1000) + make_ids("other", 0, 300)
    result = run_psi(method, guest, [host_a, host_b], batch_size=700, workers=2)
    expected = set(guest) & set(host_a) & set(host_b)
    assert len(expected) == 400
    check_known(guest_result(result), guest, expected)
    for res, inputs in zip(host_results(result), (host_a, host_b), strict=True):
        check_known(res, inputs, expected)


def test_workers_are_resolved_and_checked() -> None:
    assert resolve_workers(None, PARALLEL_MIN_IDS - 1) == 1
    auto = resolve_workers(None, PARALLEL_MIN_IDS)
    assert 1 <= auto <= MAX_AUTO_WORKERS and auto == min(os.cpu_count() or 1, MAX_AUTO_WORKERS)
    assert resolve_workers(3, 10) == 3
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers"):
            resolve_workers(bad, 10)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="workers"):
            IntersectionGuest(workers=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="workers"):
            IntersectionHost(workers=bad)  # type: ignore[arg-type]


def test_batches_are_split_into_contiguous_chunks() -> None:
    inline = Workers(1)
    assert inline.split(10_000) == [(0, 10_000)]
    assert inline.split(0) == [(0, 0)]
    with Workers(4) as four:  # no process starts before the first submit
        assert four.split(MIN_CHUNK_ROWS * 2 + 1) == [(0, 257), (257, 513)]
        chunks = four.split(10_001)
        assert four.split(10) == [(0, 10)]
    assert len(chunks) == 4 and chunks[0][0] == 0 and chunks[-1][1] == 10_001
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))


def test_inline_pool_reports_errors_through_the_future() -> None:
    kernel = ECDHKernel(x25519.generate_secret())
    with Workers(1) as inline:
        job = inline.submit(kernel, "mask", bytes(64), 5)
        assert isinstance(job.exception(), x25519.LowOrderPointError)
        assert job.exception().row == 5  # type: ignore[union-attr]


def test_kernels_give_the_same_bytes_inline_and_in_workers(pool: Workers) -> None:
    ids = make_ids("k", 0, 40)
    ecdh = ECDHKernel(x25519.generate_secret())
    assert pool.submit(ecdh, "own", ids).result() == ecdh.own(ids)
    key = rsa_blind.generate_rsa_keypair(1024)
    host = RSAHostKernel(key)
    assert pool.submit(host, "own", ids).result() == host.own(ids)
    assert isinstance(build(host.spec), RSAHostKernel) and build(host.spec).spec == host.spec
    guest = RSAGuestKernel(key.public_key)
    blinded, unblinders = pool.submit(guest, "query", ids).result()
    assert len(blinded) == len(unblinders) == 40 * key.public_key.byte_length
    signed = pool.submit(host, "reply", blinded, 0).result()
    assert pool.submit(guest, "finish", signed, unblinders, 0).result() == host.own(ids)
    with pytest.raises(ValueError, match="unknown kernel"):
        run_in_worker(("nope",), "own", ids)


def test_a_low_order_point_is_named_by_its_row_across_chunks(pool: Workers) -> None:
    host = _Host(IntersectParam(intersect_method="ecdh"))
    points = x25519.hash_to_points([x.encode() for x in make_ids("p", 0, 600)]).copy()
    points[450] = 0
    with pytest.raises(IntersectionError, match="query: point at row 450"):
        _answer(host.reply(pool, points), x25519.POINT_BYTES)


def test_an_rsa_query_outside_zn_is_refused_in_a_worker(pool: Workers) -> None:
    params = IntersectParam.model_validate({"rsa_params": {"key_length": 1024}})
    host = _Host(params)
    rows = np.full((600, 128), 0xFF, dtype=np.uint8)
    with pytest.raises(IntersectionError, match="outside"):
        _answer(host.reply(pool, rows), 128)


def test_low_order_error_survives_pickling() -> None:
    # Worker errors travel back to the party's own process by pickle (local pipe only).
    error = pickle.loads(pickle.dumps(x25519.LowOrderPointError(7)))  # noqa: S301
    assert isinstance(error, x25519.LowOrderPointError) and error.row == 7


def _naive(guest: np.ndarray, host: np.ndarray) -> set[tuple[int, int]]:
    index = {row.tobytes(): i for i, row in enumerate(host)}
    return {(g, index[row.tobytes()]) for g, row in enumerate(guest) if row.tobytes() in index}


@pytest.mark.parametrize("collide", [False, True])
def test_match_rows_is_exact(collide: bool) -> None:
    rng = np.random.default_rng(1)
    guest = rng.integers(0, 256, size=(500, DIGEST_BYTES), dtype=np.uint8)
    host = rng.integers(0, 256, size=(700, DIGEST_BYTES), dtype=np.uint8)
    host[:200] = guest[300:]
    host[200] = guest[0]
    host[200, -1] ^= 1  # same first 8 bytes as guest[0], different value: no match
    if collide:  # two host rows share their first 8 bytes: the full-sort fallback
        host[201, :8] = host[202, :8]
    gi, hi = match_rows(guest, host)
    assert set(zip(gi.tolist(), hi.tolist(), strict=True)) == _naive(guest, host)
    assert len(gi) == 200 and np.all(np.diff(gi) > 0)
    empty = np.empty((0, DIGEST_BYTES), dtype=np.uint8)
    for a, b in ((empty, host), (guest, empty)):
        gi, hi = match_rows(a, b)
        assert gi.shape == hi.shape == (0,)
