"""Helpers of the PSI tests: run both roles over the in-memory transport, scan what arrived."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from fedloom.crypto import rsa_blind, x25519
from fedloom.federation import HarnessResult, JobParties, Party, run_parties
from fedloom.ml.psi import IntersectionGuest, IntersectionHost, IntersectionResult, IntersectParam

METHODS = ["rsa", "ecdh", "dh"]


def param(method: str, sync: bool = True, key_length: int = 1024) -> IntersectParam:
    """Params of one method (RSA with test-sized keys)."""
    return IntersectParam.model_validate(
        {
            "intersect_method": method,
            "sync_intersect_ids": sync,
            "rsa_params": {"key_length": key_length},
        }
    )


def run_psi(
    method: str,
    guest_ids: Sequence[str],
    host_ids: Sequence[Sequence[str]],
    *,
    sync: bool = True,
    batch_size: int = 64,
    host_params: IntersectParam | None = None,
    workers: int = 1,
) -> HarnessResult:
    """Run a guest and one host per entry of ``host_ids``; ``workers`` processes per party."""
    parties = JobParties.of(guest=9999, hosts=[10000 + i for i in range(len(host_ids))])
    params = param(method, sync)
    hp = host_params if host_params is not None else params
    assert parties.guest is not None
    tasks: dict[Party, Any] = {
        parties.guest: lambda ctx: IntersectionGuest(
            params, batch_size=batch_size, workers=workers
        ).run(ctx, guest_ids)
    }
    for host, ids in zip(parties.hosts, host_ids, strict=True):
        tasks[host] = lambda ctx, ids=ids: IntersectionHost(
            hp, batch_size=batch_size + 7, workers=workers
        ).run(ctx, ids)
    return run_parties(parties, tasks, timeout=60)


def guest_result(result: HarnessResult) -> IntersectionResult:
    """The guest's result."""
    (res,) = [v for p, v in result.results.items() if p.role == "guest"]
    assert isinstance(res, IntersectionResult)
    return res


def host_results(result: HarnessResult) -> list[IntersectionResult]:
    """The hosts' results, in party order."""
    return [v for p, v in sorted(result.results.items()) if p.role == "host"]


def check_known(res: IntersectionResult, inputs: Sequence[str], expected: set[str]) -> None:
    """``res`` is the known intersection ``expected`` of ``inputs``, positions included."""
    assert res.known and res.ids == sorted(expected) and res.count == len(expected)
    assert res.positions is not None and res.positions.dtype == np.int64
    assert [inputs[i] for i in res.positions.tolist()] == res.ids
    assert res.is_empty == (not expected) and res.input_count == len(inputs)


def make_ids(prefix: str, start: int, stop: int) -> list[str]:
    """``prefix-000start`` ... ids."""
    return [f"{prefix}-{i:06d}" for i in range(start, stop)]


def blobs(value: Any) -> Iterator[bytes]:
    """Every byte string a received value contains, ints as big-endian magnitudes."""
    if isinstance(value, np.ndarray):
        yield value.tobytes()
    elif isinstance(value, bytes):
        yield value
    elif isinstance(value, str):
        yield value.encode()
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        return
    elif isinstance(value, int):
        yield abs(value).to_bytes(max(1, (abs(value).bit_length() + 7) // 8), "big")
    elif isinstance(value, list):
        for item in value:
            yield from blobs(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key.encode()
            yield from blobs(item)
    else:
        raise AssertionError(f"unexpected received type {type(value).__name__}")


def leaks(result: HarnessResult, party: Party, needles: dict[bytes, str]) -> list[str]:
    """What of ``needles`` occurs in any value ``party`` received."""
    found = [b for r in result.received[party] for b in blobs(r.value)]
    return [what for needle, what in needles.items() if any(needle in b for b in found)]


def unkeyed(ids: Sequence[str], keys: Sequence[rsa_blind.RSABlindPublicKey]) -> dict[bytes, str]:
    """Byte strings anyone can compute from an id without a party's secret."""
    raw = [x.encode() for x in ids]
    found: dict[bytes, str] = {}
    for x, point in zip(ids, x25519.hash_to_points(raw), strict=True):
        found[x.encode()] = f"raw {x}"
        found[hashlib.sha256(x.encode()).digest()] = f"sha256 {x}"
        found[point.tobytes()] = f"x25519 H({x})"
    for key in keys:
        hashed = rsa_blind.hash_to_zn(key, raw)
        for x, h, h2 in zip(ids, hashed, rsa_blind.hash_signatures(key, hashed), strict=True):
            found[int(h).to_bytes((int(h).bit_length() + 7) // 8, "big")] = f"rsa H({x})"
            found[h2.tobytes()] = f"H2(H({x}))"
    return found
