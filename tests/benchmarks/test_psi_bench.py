"""benchmarks/psi.py runs end to end on a tiny input and prints one well-formed JSON line."""

from __future__ import annotations

import json
from types import ModuleType

import pytest
from bench_support import load_benchmark

pytestmark = pytest.mark.integration

FIELDS = {"method", "n", "transport", "seconds", "ids_per_s", "peak_rss_mb"}


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("psi")


@pytest.mark.parametrize(
    ("method", "extra", "transport"),
    [
        ("ecdh", [], "memory"),
        ("rsa", [], "memory"),
        ("ecdh", ["--grpc", "--workers", "2", "--batch-size", "600"], "grpc"),
    ],
    ids=["ecdh", "rsa", "ecdh-grpc-workers"],
)
def test_bench_prints_a_checked_json_line(
    bench: ModuleType,
    capsys: pytest.CaptureFixture[str],
    method: str,
    extra: list[str],
    transport: str,
) -> None:
    bench.main(["--method", method, "--n", "2000", *extra])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert FIELDS <= set(record)
    assert (record["method"], record["n"], record["transport"]) == (method, 2000, transport)
    assert record["seconds"] > 0 and record["ids_per_s"] == pytest.approx(
        2000 / record["seconds"], rel=0.02
    )
    assert record["verified"] is True and record["intersection"] == 1000
    assert 10 < record["peak_rss_mb"] < 2048
    for party in ("guest", "host"):
        stats = record["parties"][party]
        assert stats["total"] == pytest.approx(stats["main"] + stats["children"], abs=0.2)
        assert stats["total"] <= record["peak_rss_mb"]
    if "--workers" in extra:
        assert record["workers"] == {"guest": 2, "host": 2}
        assert all(record["parties"][p]["children"] > 0 for p in ("guest", "host"))


def test_ids_are_distinct_strings_and_half_shared(bench: ModuleType) -> None:
    guest, host = bench.party_ids("guest", 1001, 3), bench.party_ids("host", 1001, 3)
    assert len(set(guest)) == len(set(host)) == 1001
    assert all(isinstance(x, str) and len(x) == 11 and x.isdigit() for x in guest)
    shared = set(guest) & set(host)
    assert len(shared) == 500
    digest, sample = bench.expected(1001)
    assert digest == bench._digest(sorted(shared)) and set(sample) <= shared
    assert guest != sorted(guest)  # shuffled


def test_bad_arguments_are_refused(bench: ModuleType) -> None:
    with pytest.raises(SystemExit):
        bench.main(["--n", "1"])
    with pytest.raises(SystemExit):
        bench.main(["--method", "raw"])
