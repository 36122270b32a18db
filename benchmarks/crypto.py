"""Paillier throughput: fedloom's engine against ``phe`` (with gmpy2), same inputs, same run.

Every operation is timed for both libraries on the same values, and the results are checked
against each other before a line is printed. One JSON line per operation:
``{"op", "n", "key_length", "ours_ops_s", "phe_ops_s", "ratio"}`` (ratio = ours / phe).

    python benchmarks/crypto.py [--key-length 2048] [--n 1000] [--features 10]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from phe import paillier

from fedloom.crypto import PaillierPrivateKey, PaillierPublicKey


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _line(op: str, n: int, bits: int, ours_s: float, phe_s: float, count: int) -> str:
    ours, theirs = count / ours_s, count / phe_s
    return json.dumps(
        {
            "op": op,
            "n": n,
            "key_length": bits,
            "ours_ops_s": round(ours, 1),
            "phe_ops_s": round(theirs, 1),
            "ratio": round(ours / theirs, 2),
        }
    )


def _close(a: np.ndarray, b: np.ndarray, what: str, tol: float = 1e-6) -> None:
    if not np.allclose(a, b, rtol=tol, atol=tol):
        worst = int(np.argmax(np.abs(a - b)))
        raise SystemExit(f"{what}: results differ at {worst}: ours {a[worst]!r}, phe {b[worst]!r}")


def run(bits: int, n: int, features: int, seed: int) -> list[str]:
    """Time each operation for both libraries; return the JSON lines."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n)
    other = rng.normal(size=n)
    matrix = rng.normal(size=(n, features))
    phe_public, phe_private = paillier.generate_paillier_keypair(n_length=bits)
    public = PaillierPublicKey(phe_public.n)
    private = PaillierPrivateKey(public, phe_private.p, phe_private.q)
    lines = []

    ours_t, enc = _timed(lambda: public.encrypt(values))
    phe_t, phe_enc = _timed(lambda: [phe_public.encrypt(float(v)) for v in values])
    lines.append(_line("encrypt", n, bits, ours_t, phe_t, n))

    ours_t, dec = _timed(lambda: private.decrypt(enc))
    phe_t, phe_dec = _timed(lambda: np.array([phe_private.decrypt(c) for c in phe_enc]))
    _close(dec, values, "decrypt (ours)")
    _close(phe_dec, values, "decrypt (phe)")
    lines.append(_line("decrypt", n, bits, ours_t, phe_t, n))

    enc_other = public.encrypt(other)
    phe_other = [phe_public.encrypt(float(v)) for v in other]
    ours_t, added = _timed(lambda: enc + enc_other)
    phe_t, phe_added = _timed(lambda: [a + b for a, b in zip(phe_enc, phe_other, strict=True)])
    _close(private.decrypt(added), np.array([phe_private.decrypt(c) for c in phe_added]), "add")
    lines.append(_line("add", n, bits, ours_t, phe_t, n))

    for op, scalar in (("mul_scalar_pos", 0.731), ("mul_scalar_neg", -1.377)):
        ours_t, scaled = _timed(lambda s=scalar: enc.mul(s))
        phe_t, phe_scaled = _timed(lambda s=scalar: [c * s for c in phe_enc])
        _close(private.decrypt(scaled), np.array([phe_private.decrypt(c) for c in phe_scaled]), op)
        lines.append(_line(op, n, bits, ours_t, phe_t, n))

    ours_t, grad = _timed(lambda: enc.dot(matrix, 23))
    phe_t, phe_grad = _timed(
        lambda: [
            sum((c * float(x) for c, x in zip(phe_enc, matrix[:, j], strict=True)), start=0)
            for j in range(features)
        ]
    )
    expected = values @ matrix
    _close(private.decrypt(grad), expected, "gradient product (ours)", tol=1e-4)
    _close(np.array([phe_private.decrypt(c) for c in phe_grad]), expected, "gradient product (phe)")
    lines.append(_line("gradient_product_per_term", n, bits, ours_t, phe_t, n * features))

    phe_bytes = len(str(phe_enc[0].ciphertext(be_secure=False))) + len(str(phe_enc[0].exponent))
    lines.append(
        json.dumps(
            {
                "op": "wire_bytes_per_ciphertext",
                "n": 1,
                "key_length": bits,
                "ours_bytes": public.ciphertext_bytes,
                "phe_bytes_as_decimal_json": phe_bytes,
            }
        )
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, print."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--key-length", type=int, default=2048)
    ap.add_argument("--n", type=int, default=1000, help="values per vector")
    ap.add_argument("--features", type=int, default=10, help="columns of the gradient product")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    for line in run(args.key_length, args.n, args.features, args.seed):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
