"""Additive HE throughput: fedloom's engine against ``phe`` (with gmpy2), same inputs, same run.

Every operation is timed for both libraries on the same values, and the decrypted results are
checked against each other (and the plaintext truth) before a line is printed. One JSON line
per operation, ratio = ours / phe:

    {"op", "n", "key_length", "ours_ops_s", "phe_ops_s", "ratio", "scheme", "cores"}

Operations: ``encrypt`` and ``decrypt`` of n floats, ``decrypt_packed`` (n masked values packed
several to a plaintext, decrypted, unpacked and unmasked; extra fields ``slots`` and the sender's
``ours_pack_ops_s``), ``add`` (ciphertext + ciphertext),
``mul_scalar_pos`` / ``mul_scalar_neg`` (ciphertext × plaintext float), the gradient product
``gradient_product_per_term`` (ciphertext vector of n · plaintext n×features matrix; one op is
one term) and ``wire_bytes_per_ciphertext`` (serialising n ciphertexts; the line adds
``ours_bytes`` and ``phe_bytes``, bytes per ciphertext on the wire: fedloom's binary format
against phe's documented JSON form).

``--method ou`` times fedloom's Okamoto–Uchiyama against phe's Paillier at the same key length.
``--cores N`` gives fedloom N worker processes (fedloom.crypto.parallel); phe always runs in one
process, as FATE runs it. With ``--cores`` > 1 the encrypt, decrypt and gradient lines also time
fedloom without its pool in the same run: ``ours_1core_ops_s`` and ``speedup_vs_1core``.
``--repeat R`` (default 3) times those three of fedloom's operations R times, each pooled run
followed by a one-core run, and reports the medians; phe's runs are long and run once.

    python benchmarks/crypto.py [--key-length 2048] [--n 1000] [--features 10]
        [--method paillier|ou] [--cores 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from phe import paillier

from fedloom.crypto import (
    CipherVector,
    PaillierPrivateKey,
    PaillierPublicKey,
    PrivateKey,
    PublicKey,
)
from fedloom.crypto.packing import pack, unpack
from fedloom.crypto.parallel import MIN_PARALLEL, active_pool, configure_workers, suspended
from fedloom.crypto.randomness import LARGE_TABLE_AFTER, BlindingSource
from fedloom.federation import KeyRing, Serde


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return max(time.perf_counter() - started, 1e-9), result


class _Report:
    """Collects the JSON lines of one run."""

    def __init__(self, n: int, bits: int, scheme: str, cores: int) -> None:
        self.n, self.bits, self.scheme, self.cores = n, bits, scheme, cores
        self.lines: list[str] = []

    def add(self, op: str, ours_s: float, phe_s: float, count: int, **extra: Any) -> None:
        ours, theirs = count / ours_s, count / phe_s
        record = {
            "op": op,
            "n": self.n,
            "key_length": self.bits,
            "ours_ops_s": round(ours, 1),
            "phe_ops_s": round(theirs, 1),
            "ratio": round(ours / theirs, 3),
            "scheme": self.scheme,
            "cores": self.cores,
            **extra,
        }
        self.lines.append(json.dumps(record))


def _close(a: np.ndarray, b: np.ndarray, what: str, tol: float = 1e-6) -> None:
    if not np.allclose(a, b, rtol=tol, atol=tol):
        worst = int(np.argmax(np.abs(a - b)))
        raise SystemExit(f"{what}: results differ at {worst}: ours {a[worst]!r}, phe {b[worst]!r}")


def _our_keys(method: str, phe_public: Any, phe_private: Any) -> tuple[PublicKey, PrivateKey]:
    """Paillier: fedloom keys over phe's modulus (one key pair, two engines); OU: a new pair."""
    if method == "ou":
        from fedloom.crypto.ou import generate_ou_keypair

        return generate_ou_keypair(int(phe_public.n).bit_length())
    public = PaillierPublicKey(phe_public.n)
    return public, PaillierPrivateKey(public, phe_private.p, phe_private.q)


def _wire(report: _Report, public: PublicKey, enc: CipherVector, phe_enc: list[Any]) -> None:
    """Serialise the n ciphertexts both ways, check they read back, record bytes and speed."""
    n, bits = len(enc), report.bits
    writer = Serde(KeyRing(min_key_length=min(bits, 2048)))
    ours_t, payload = _timed(lambda: writer.dumps(enc))
    reader = Serde(KeyRing(min_key_length=min(bits, 2048)))
    reader.keyring.add(public)
    back = reader.loads(payload)
    if not isinstance(back, CipherVector) or back.ciphertexts != enc.ciphertexts:
        raise SystemExit("wire: fedloom ciphertexts do not read back")

    phe_public = phe_enc[0].public_key

    def phe_dumps() -> bytes:
        values = [(str(c.ciphertext(be_secure=False)), c.exponent) for c in phe_enc]
        return json.dumps({"public_key": {"n": str(phe_public.n)}, "values": values}).encode()

    phe_t, phe_payload = _timed(phe_dumps)
    decoded = json.loads(phe_payload)["values"]
    phe_back = [paillier.EncryptedNumber(phe_public, int(c), int(e)) for c, e in decoded]
    if [c.ciphertext(be_secure=False) for c in phe_back] != [
        c.ciphertext(be_secure=False) for c in phe_enc
    ]:
        raise SystemExit("wire: phe ciphertexts do not read back")
    report.add(
        "wire_bytes_per_ciphertext",
        ours_t,
        phe_t,
        n,
        ours_bytes=round(len(payload) / n, 1),
        phe_bytes=round(len(phe_payload) / n, 1),
    )


def _warm_up(public: PublicKey, private: PrivateKey, cores: int) -> None:
    """Pay the once-per-process costs before timing: spawning workers and building the
    randomness tables (including the larger table a busy process switches to)."""
    if cores > 1:
        private.decrypt(public.encrypt(np.zeros(MIN_PARALLEL)))
    blinding = getattr(public, "blinding", None)
    if not isinstance(blinding, BlindingSource):
        public.encrypt(np.zeros(1))
        return
    with suspended():
        blinding.local_factors(LARGE_TABLE_AFTER + 1)
    pool = active_pool()
    if pool is not None:
        for _ in range(cores):
            pool.factors(public.n, blinding.mode, cores * (LARGE_TABLE_AFTER + 1))


def _timed_ours(
    cores: int, repeat: int, count: int, fn: Callable[[], Any]
) -> tuple[float, Any, dict[str, Any]]:
    """The median of ``repeat`` timings of ``fn``, its last result, and (with a pool) the extra
    fields comparing it with one core: each pooled run is followed by one with the pool
    suspended, so both sides see the same machine conditions."""
    pooled: list[float] = []
    single: list[float] = []
    result: Any = None
    for _ in range(repeat):
        elapsed, result = _timed(fn)
        pooled.append(elapsed)
        if cores > 1:
            with suspended():
                single.append(_timed(fn)[0])
    ours_t = statistics.median(pooled)
    if not single:
        return ours_t, result, {}
    single_t = statistics.median(single)
    return (
        ours_t,
        result,
        {
            "ours_1core_ops_s": round(count / single_t, 1),
            "speedup_vs_1core": round(single_t / ours_t, 3),
        },
    )


def _packed(
    report: _Report,
    public: PublicKey,
    private: PrivateKey,
    enc: CipherVector,
    values: np.ndarray,
    phe_decrypt_s: float,
) -> None:
    """Decryption per value when masked values are packed several to a plaintext.

    Timed: the key owner's decryption of the packed ciphertexts plus unpacking and unmasking,
    against phe decrypting every value. The sender's packing time is reported on the side.
    """
    n = len(enc)
    mask = public.new_mask(n, bound_bits=enc.bound_bits)
    slot_bits = mask.masked_bits
    assert slot_bits is not None  # masks drawn with bound_bits are statistical
    pack_t, (packed, layout) = _timed(lambda: pack(mask.apply(enc), slot_bits))

    def decrypt_packed() -> np.ndarray:
        return mask.remove(unpack(private.decrypt_raw(packed), layout))

    ours_t, dec = _timed(decrypt_packed)
    _close(dec, values, "decrypt_packed (ours)")
    report.add(
        "decrypt_packed",
        ours_t,
        phe_decrypt_s,
        n,
        slots=layout.slots,
        ours_pack_ops_s=round(n / pack_t, 1),
    )


def run(
    bits: int,
    n: int,
    features: int,
    seed: int,
    method: str = "paillier",
    cores: int = 1,
    repeat: int = 1,
) -> list[str]:
    """Time each operation for both libraries; return the JSON lines.

    ``cores`` > 1 starts fedloom's worker pool for the run (and stops it afterwards).
    ``repeat`` times fedloom's encrypt, decrypt and gradient product that often (the median
    counts); phe runs once.
    """
    if method not in ("paillier", "ou"):
        raise ValueError(f"method must be 'paillier' or 'ou', got {method!r}")
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    if cores > 1:
        configure_workers(cores)
    try:
        return _run(bits, n, features, seed, method, cores, repeat)
    finally:
        if cores > 1:
            configure_workers(1)


def _run(
    bits: int, n: int, features: int, seed: int, method: str, cores: int, repeat: int
) -> list[str]:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n)
    other = rng.normal(size=n)
    matrix = rng.normal(size=(n, features))
    phe_public, phe_private = paillier.generate_paillier_keypair(n_length=bits)
    public, private = _our_keys(method, phe_public, phe_private)
    report = _Report(n, bits, public.scheme, cores)
    _warm_up(public, private, cores)

    def phe_decrypt(numbers: list[Any]) -> np.ndarray:
        return np.array([phe_private.decrypt(c) for c in numbers])

    ours_t, enc, one = _timed_ours(cores, repeat, n, lambda: public.encrypt(values))
    phe_t, phe_enc = _timed(lambda: [phe_public.encrypt(float(v)) for v in values])
    report.add("encrypt", ours_t, phe_t, n, **one)

    ours_t, dec, one = _timed_ours(cores, repeat, n, lambda: private.decrypt(enc))
    phe_t, phe_dec = _timed(lambda: phe_decrypt(phe_enc))
    _close(dec, values, "decrypt (ours)")
    _close(phe_dec, dec, "decrypt (phe against ours)")
    report.add("decrypt", ours_t, phe_t, n, **one)
    _packed(report, public, private, enc, values, phe_t)

    enc_other = public.encrypt(other)
    phe_other = [phe_public.encrypt(float(v)) for v in other]
    ours_t, added = _timed(lambda: enc + enc_other)
    phe_t, phe_added = _timed(lambda: [a + b for a, b in zip(phe_enc, phe_other, strict=True)])
    _close(private.decrypt(added), phe_decrypt(phe_added), "add")
    _close(private.decrypt(added), values + other, "add (ours)")
    report.add("add", ours_t, phe_t, n)

    for op, scalar in (("mul_scalar_pos", 0.731), ("mul_scalar_neg", -1.377)):
        ours_t, scaled = _timed(lambda s=scalar: enc.mul(s))
        phe_t, phe_scaled = _timed(lambda s=scalar: [c * s for c in phe_enc])
        _close(private.decrypt(scaled), phe_decrypt(phe_scaled), op)
        _close(private.decrypt(scaled), values * scalar, f"{op} (ours)")
        report.add(op, ours_t, phe_t, n)

    terms = n * features
    ours_t, grad, one = _timed_ours(cores, repeat, terms, lambda: enc.dot(matrix, 23))
    phe_t, phe_grad = _timed(
        lambda: [
            sum((c * float(x) for c, x in zip(phe_enc, matrix[:, j], strict=True)), start=0)
            for j in range(features)
        ]
    )
    expected = values @ matrix
    _close(private.decrypt(grad), expected, "gradient product (ours)", tol=1e-4)
    _close(phe_decrypt(phe_grad), expected, "gradient product (phe)")
    _close(private.decrypt(grad), phe_decrypt(phe_grad), "gradient product", tol=1e-4)
    report.add("gradient_product_per_term", ours_t, phe_t, terms, **one)

    _wire(report, public, enc, phe_enc)
    return report.lines


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, print."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--key-length", type=int, default=2048)
    ap.add_argument("--n", type=int, default=1000, help="values per vector")
    ap.add_argument("--features", type=int, default=10, help="columns of the gradient product")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--method",
        default="paillier",
        choices=["paillier", "ou"],
        help="fedloom's scheme (phe is always Paillier)",
    )
    ap.add_argument(
        "--cores", type=int, default=1, help="fedloom crypto worker processes (phe: always 1)"
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="timings of fedloom's encrypt, decrypt and gradient product (median; phe: once)",
    )
    args = ap.parse_args(argv)
    if args.cores < 1:
        raise SystemExit("--cores must be at least 1")
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    lines = run(
        args.key_length, args.n, args.features, args.seed, args.method, args.cores, args.repeat
    )
    for line in lines:
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
