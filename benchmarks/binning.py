"""Host-side HeteroFeatureBinning: encrypted per-bin label sums of N rows × F features.

    python benchmarks/binning.py [--rows 30000] [--features 10] [--bin-num 10]
                                 [--key-length 2048] [--method paillier|ou] [--workers 2]

Guest and host run as threads of this process over the in-memory transport. The host runs its
whole task as in a job: find its quantile split points, receive the guest's key and N
ciphertexts, sum the ciphertexts per bin (homomorphic additions, the bins' columns spread over
``--workers`` crypto worker processes), re-randomise the sums and send them.
``host_seconds`` is the host task's wall time minus the time it waited for the guest's bytes
(so: local split points, decoding the ciphertexts, the per-bin sums, re-randomisation and
encoding the reply). The guest then decrypts and checks every feature's counts against its
labels. One JSON line:

    {"rows", "features", "bins", "key_length", "method", "workers", "host_seconds",
     "guest_seconds", "keygen_seconds", "checked"}

``guest_seconds`` (encrypting N packed labels, decrypting the sums, WOE/IV) is not part of the
target; ``keygen_seconds`` is the key generation, before the clock.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from fedloom.crypto.keys import generate_keypair
from fedloom.crypto.parallel import configure_workers
from fedloom.federation import Context, JobParties, KeyRing, Party, run_parties
from fedloom.ml.feature_binning import BinningConfig, BinningGuest, BinningHost, ColumnSpec
from fedloom.ml.feature_binning.params import EncryptConfig

PARTIES = JobParties.of(guest=9999, hosts=[10000])
GUEST, HOST = Party("guest", 9999), Party("host", 10000)


def main() -> None:
    """Run the benchmark once and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=30000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--bin-num", type=int, default=10)
    parser.add_argument("--key-length", type=int, default=2048)
    parser.add_argument("--method", choices=["paillier", "ou"], default="paillier")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    configure_workers(args.workers)
    rng = np.random.default_rng(0)
    x_host = rng.normal(size=(args.rows, args.features))
    y = (x_host[:, 0] + rng.normal(size=args.rows) > 0).astype(np.float64)
    x_guest = rng.normal(size=(args.rows, 1))
    encrypt = EncryptConfig(args.method, args.key_length)
    config = BinningConfig(bin_num=args.bin_num, encrypt=encrypt)
    started = time.perf_counter()
    keys = generate_keypair(args.method, args.key_length)
    keygen_seconds = time.perf_counter() - started
    timings: dict[str, float] = {}

    def guest(ctx: Context) -> Any:
        started = time.perf_counter()
        result = BinningGuest(config, keygen=lambda bits: keys).fit(
            ctx, x_guest, [ColumnSpec(0, "g0")], y
        )
        timings["guest"] = time.perf_counter() - started
        return result

    def host(ctx: Context) -> Any:
        # The host's own time: its task's wall time minus the time it sat waiting for bytes.
        waited = [0.0]
        receive = ctx.messenger.recv

        def timed(src: Party, tag: str, timeout: float | None = None) -> bytes:
            began = time.perf_counter()
            try:
                return receive(src, tag, timeout)
            finally:
                waited[0] += time.perf_counter() - began

        ctx.messenger.recv = timed  # type: ignore[method-assign]
        started = time.perf_counter()
        columns = [ColumnSpec(i, f"h{i}") for i in range(args.features)]
        fitted = BinningHost(config).fit(ctx, x_host, columns)
        timings["host"] = time.perf_counter() - started - waited[0]
        return fitted

    def ring() -> KeyRing:
        return KeyRing(min_key_length=min(2048, args.key_length))

    harness = run_parties(PARTIES, {GUEST: guest, HOST: host}, keyring=ring, timeout=600)
    result, fitted = harness.results[GUEST], harness.results[HOST]
    checked = True
    for col, seen in zip(fitted.columns, result.hosts[0][1], strict=True):
        events = np.bincount(col.bins, weights=y, minlength=col.size).astype(int)
        checked = checked and seen.stats[0]["event_count_array"] == events.tolist()
    line = {
        "rows": args.rows,
        "features": args.features,
        "bins": sum(c.size for c in fitted.columns),
        "key_length": args.key_length,
        "method": args.method,
        "workers": args.workers,
        "host_seconds": round(timings["host"], 3),
        "guest_seconds": round(timings["guest"], 3),
        "keygen_seconds": round(keygen_seconds, 3),
        "checked": bool(checked),
    }
    print(json.dumps(line))
    configure_workers(1)


if __name__ == "__main__":
    main()
