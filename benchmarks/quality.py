"""Model quality of federated vs centralized training, on FATE-format CSV inputs.

Runs PSI and then hetero LR (real Paillier or OU) with a guest, a host and an arbiter in one process
over the in-memory transport, and compares with scikit-learn trained on the joined rows.
Prints one JSON line per model. See docs/benchmarks.md for the centralized mapping.

    python benchmarks/quality.py [--guest G.csv --host H.csv] [--key-length 2048]
        [--method paillier|ou] [--backend fedloom|phe] [--cores N] ...
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from fedloom.crypto.parallel import configure_workers
from fedloom.data import Table, read_fate_csv
from fedloom.data.examples import make_breast_split, make_synthetic_split
from fedloom.federation import JobParties, KeyRing, run_parties
from fedloom.ml.evaluation import auc, ks
from fedloom.ml.hetero_lr import (
    HeteroLRArbiter,
    HeteroLRGuest,
    HeteroLRHost,
    HeteroLRParam,
)
from fedloom.ml.hetero_lr.baseline import centralized_scores
from fedloom.ml.psi import IntersectionGuest, IntersectionHost, IntersectParam

PARTIES = JobParties.of(guest=9999, hosts=[10000], arbiter=10001)
GUEST, HOST, ARBITER = PARTIES.guest, PARTIES.hosts[0], PARTIES.arbiter


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; defaults are the documented benchmark settings."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--guest", type=Path, help="guest CSV: id,y,x0,... (default: breast split)")
    ap.add_argument("--host", type=Path, help="host CSV: id,x0,...")
    ap.add_argument(
        "--synthetic",
        metavar="ROWSxG+H",
        help="generate a credit-like dataset of this shape instead, e.g. 30000x13+10",
    )
    ap.add_argument("--label", default="y", help="label column of the guest file")
    ap.add_argument("--dataset", help="name printed in the result (default: from the file name)")
    ap.add_argument("--data-dir", type=Path, default=Path(__file__).parent / "data")
    ap.add_argument("--key-length", type=int, default=2048)
    ap.add_argument("--max-iter", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=-1)
    ap.add_argument("--learning-rate", type=float, default=0.1)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--optimizer", default="rmsprop")
    ap.add_argument("--penalty", default="L2")
    ap.add_argument("--early-stop", default="diff")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--intersect-method", default="rsa", choices=["rsa", "ecdh"])
    ap.add_argument(
        "--no-scale",
        action="store_true",
        help="do not z-score each party's features locally before training",
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--cores", type=int, default=1, help="crypto worker processes (fedloom.crypto.parallel)"
    )
    ap.add_argument(
        "--method",
        default="paillier",
        choices=["paillier", "ou"],
        help="encrypt_param.method: Paillier or Okamoto-Uchiyama",
    )
    ap.add_argument(
        "--backend",
        default="fedloom",
        choices=["fedloom", "phe"],
        help="encrypt_param.backend: fedloom's engine or python-paillier (Paillier only)",
    )
    return ap.parse_args(argv)


def parse_shape(text: str) -> tuple[int, int, int]:
    """``"30000x13+10"`` → (30000, 13, 10), with a clear error for anything else."""
    try:
        rows, cols = text.lower().split("x")
        guest, host = cols.split("+")
        shape = int(rows), int(guest), int(host)
    except ValueError:
        raise SystemExit(
            f"--synthetic {text!r}: expected ROWSxGUEST+HOST, e.g. 30000x13+10"
        ) from None
    if min(shape) < 1:
        raise SystemExit(f"--synthetic {text!r}: every number must be positive")
    return shape


def intersect(guest: Table, host: Table, method: str, key_length: int) -> tuple[Table, Table]:
    """PSI between the two tables; both sides keep the intersected rows in the same order."""
    param = IntersectParam(
        intersect_method=method, sync_intersect_ids=True, rsa_params={"key_length": key_length}
    )
    result = run_parties(
        JobParties(guest=GUEST, hosts=(HOST,)),
        {
            GUEST: lambda ctx: IntersectionGuest(param).run(ctx, guest.ids),
            HOST: lambda ctx: IntersectionHost(param).run(ctx, host.ids),
        },
        keyring=lambda: KeyRing(min_key_length=min(key_length, 2048)),
    ).results
    g, h = result[GUEST], result[HOST]
    if g.ids != h.ids:
        raise RuntimeError("guest and host disagree on the intersection")
    return guest.take(g.positions), host.take(h.positions)


def standardize(x: np.ndarray) -> np.ndarray:
    """Z-score columns locally (constant columns are centred only)."""
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)


def federated(
    guest_x: np.ndarray, y: np.ndarray, host_x: np.ndarray, param: HeteroLRParam
) -> tuple[np.ndarray, list[float]]:
    """Train hetero LR with real encryption; the guest's training scores and epoch times."""
    guest, host, arbiter = HeteroLRGuest(param), HeteroLRHost(param), HeteroLRArbiter(param)
    keyring = lambda: KeyRing(min_key_length=param.encrypt_param.key_length)  # noqa: E731
    run_parties(
        PARTIES,
        {
            GUEST: lambda ctx: guest.fit(ctx, guest_x, y),
            HOST: lambda ctx: host.fit(ctx, host_x),
            ARBITER: arbiter.fit,
        },
        keyring=keyring,
        timeout=3600,
    )
    scores = run_parties(
        PARTIES,
        {
            GUEST: lambda ctx: guest.predict(ctx, guest_x),
            HOST: lambda ctx: host.predict(ctx, host_x),
            ARBITER: lambda ctx: None,
        },
        keyring=keyring,
    ).results[GUEST]
    assert guest.model is not None
    return scores, guest.model.epoch_seconds


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON line."""
    args = parse_args(argv)
    if (args.guest is None) != (args.host is None):
        raise SystemExit("--guest and --host go together")
    if args.backend == "phe" and args.method != "paillier":
        raise SystemExit(
            "--backend phe (python-paillier) runs Paillier only; use --method paillier"
        )
    if args.synthetic:
        if args.guest is not None:
            raise SystemExit("--synthetic replaces --guest/--host; give one or the other")
        rows, guest_cols, host_cols = parse_shape(args.synthetic)
        args.guest, args.host = make_synthetic_split(
            args.data_dir, rows, guest_cols, host_cols, seed=args.seed
        )
        dataset = args.dataset or f"synthetic_{args.synthetic}"
    elif args.guest is None:
        args.guest, args.host = make_breast_split(args.data_dir, seed=args.seed)
        dataset = args.dataset or "breast"
    else:
        dataset = args.dataset or args.guest.stem.removesuffix("_guest")
    param = HeteroLRParam(
        penalty=args.penalty,
        tol=args.tol,
        alpha=args.alpha,
        optimizer=args.optimizer,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_iter=args.max_iter,
        early_stop=args.early_stop,
        init_param={"init_method": "zeros", "random_seed": args.seed},
        encrypt_param={
            "method": args.method,
            "key_length": args.key_length,
            "backend": args.backend,
        },
    )
    configure_workers(args.cores)
    started = time.perf_counter()
    guest, host = intersect(
        read_fate_csv(args.guest, label=args.label),
        read_fate_csv(args.host),
        args.intersect_method,
        args.key_length,
    )
    assert guest.labels is not None
    gx, hx = guest.features, host.features
    if not args.no_scale:
        gx, hx = standardize(gx), standardize(hx)
    trained = time.perf_counter()
    scores, epochs = federated(gx, guest.labels, hx, param)
    fit_seconds = time.perf_counter() - trained
    later = epochs[1:]
    seconds = time.perf_counter() - started
    central = centralized_scores(np.hstack([gx, hx]), guest.labels, param)
    print(
        json.dumps(
            {
                "dataset": dataset,
                "model": "hetero_lr",
                "rows_intersected": len(guest),
                "auc_federated": round(auc(guest.labels, scores), 6),
                "auc_centralized": round(auc(guest.labels, central), 6),
                "ks_federated": round(ks(guest.labels, scores), 6),
                "ks_centralized": round(ks(guest.labels, central), 6),
                "seconds": round(seconds, 2),
                "key_length": args.key_length,
                "iterations": len(epochs),
                "seconds_per_epoch": round(sum(epochs) / len(epochs), 2),
                "first_epoch_seconds": round(epochs[0], 2),
                "later_epochs_seconds": round(sum(later) / len(later), 2) if later else None,
                "median_epoch_seconds": round(float(np.median(epochs)), 2),
                "fit_and_predict_seconds": round(fit_seconds, 2),
                "epoch_seconds": [round(e, 2) for e in epochs],
                "cores": args.cores,
                "method": args.method,
                "backend": args.backend,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
