"""benchmarks/crypto.py runs on tiny sizes and prints one checked JSON line per operation."""

from __future__ import annotations

import json
from types import ModuleType

import pytest
from bench_support import load_benchmark

pytestmark = pytest.mark.integration

KEYS = {"op", "n", "key_length", "ours_ops_s", "phe_ops_s", "ratio"}
OPS = [
    "encrypt",
    "decrypt",
    "decrypt_packed",
    "add",
    "mul_scalar_pos",
    "mul_scalar_neg",
    "gradient_product_per_term",
    "wire_bytes_per_ciphertext",
]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("crypto")


def _check(lines: list[str], bits: int, scheme: str, n: int = 20) -> dict[str, dict[str, object]]:
    records = [json.loads(line) for line in lines]
    assert [r["op"] for r in records] == OPS
    for record in records:
        assert KEYS <= set(record), record
        assert record["n"] == n and record["key_length"] == bits
        assert record["scheme"] == scheme
        for key in ("ours_ops_s", "phe_ops_s", "ratio"):
            assert isinstance(record[key], float | int) and record[key] > 0, (key, record)
    return {str(r["op"]): r for r in records}


def test_paillier_lines(bench: ModuleType) -> None:
    by_op = _check(bench.run(512, 20, 3, seed=1), 512, "paillier")
    wire = by_op["wire_bytes_per_ciphertext"]
    assert 128 <= float(wire["ours_bytes"]) < 140  # type: ignore[arg-type]
    assert float(wire["phe_bytes"]) > float(wire["ours_bytes"])  # type: ignore[arg-type]


def test_ou_lines(bench: ModuleType) -> None:
    # OU plaintexts have ~k/3 bits: a product of two 117-bit encodings needs 1152-bit keys.
    by_op = _check(bench.run(1152, 20, 3, seed=1, method="ou"), 1152, "ou")
    assert float(by_op["wire_bytes_per_ciphertext"]["ours_bytes"]) < 160  # type: ignore[arg-type]


def test_main_prints_the_lines(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--key-length", "512", "--n", "20", "--features", "2", "--cores", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    _check(lines, 512, "paillier")
    with pytest.raises(SystemExit):
        bench.main(["--cores", "0"])
    with pytest.raises(SystemExit, match="--repeat must be at least 1"):
        bench.main(["--repeat", "0"])
    with pytest.raises(ValueError, match="repeat must be at least 1"):
        bench.run(512, 20, 3, seed=1, repeat=0)


def test_packed_decryption_reports_its_slots(bench: ModuleType) -> None:
    packed = _check(bench.run(512, 20, 3, seed=2), 512, "paillier")["decrypt_packed"]
    # 53 fractional + 64 integer bits, 2 offset bits and 80 mask bits: two slots in 512 bits.
    assert packed["slots"] == 2
    assert float(packed["ours_pack_ops_s"]) > 0  # type: ignore[arg-type]


def test_two_workers_are_timed_against_one_in_the_same_run(bench: ModuleType) -> None:
    by_op = _check(bench.run(512, 300, 2, seed=3, cores=2, repeat=2), 512, "paillier", n=300)
    for op in ("encrypt", "decrypt", "gradient_product_per_term"):
        assert by_op[op]["cores"] == 2
        assert float(by_op[op]["speedup_vs_1core"]) > 0  # type: ignore[arg-type]
        assert float(by_op[op]["ours_1core_ops_s"]) > 0  # type: ignore[arg-type]
    assert "speedup_vs_1core" not in by_op["add"]
