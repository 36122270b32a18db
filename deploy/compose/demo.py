"""Run examples/hetero_lr on the docker-compose deployment over REST (``make compose-demo``).

Uploads the vertical split of scikit-learn's breast-cancer data (guest: label + 10 features,
host: 20 features) to the guest and host flows, submits the job to the guest, waits for it and
checks that it succeeded with an AUC above ``--min-auc``. Prints one JSON line; exit status 0
on success, 1 otherwise. Tokens come from ``deploy/compose/secrets/<party>/site.env``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.cli.client import FlowClient  # noqa: E402

EXAMPLE = ROOT / "examples" / "hetero_lr"
SECRETS = Path(__file__).resolve().parent / "secrets"


def token_of(party: int, secrets_dir: Path = SECRETS) -> str:
    """``FEDLOOM_TOKEN`` of a party from its ``site.env``."""
    for line in (secrets_dir / str(party) / "site.env").read_text().splitlines():
        if line.startswith("FEDLOOM_TOKEN="):
            return line.split("=", 1)[1].strip()
    raise SystemExit(f"no FEDLOOM_TOKEN in {secrets_dir / str(party) / 'site.env'}")


def wait_healthy(urls: dict[int, str], timeout: float) -> None:
    """Block until every flow answers ``/healthz`` (``SystemExit`` naming the laggards)."""
    deadline = time.monotonic() + timeout
    waiting = dict(urls)
    while waiting and time.monotonic() < deadline:
        for party, url in list(waiting.items()):
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    del waiting[party]
            except httpx.HTTPError:
                pass
        time.sleep(1)
    if waiting:
        raise SystemExit(f"flows not healthy after {timeout:g} s: {waiting}")


def find_metric(metrics: Any, name: str) -> float | None:
    """The first number called ``name`` in a (nested) metrics document."""
    if isinstance(metrics, dict):
        value = metrics.get(name)
        if isinstance(value, int | float):
            return float(value)
        for item in metrics.values():
            found = find_metric(item, name)
            if found is not None:
                return found
    return None


def main(argv: list[str] | None = None) -> int:
    """Upload, submit, wait, check; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guest-url", default="http://127.0.0.1:9380")
    parser.add_argument("--host-url", default="http://127.0.0.1:9381")
    parser.add_argument("--arbiter-url", default="http://127.0.0.1:9382")
    parser.add_argument("--secrets", type=Path, default=SECRETS)
    parser.add_argument("--min-auc", type=float, default=0.95)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for the job")
    args = parser.parse_args(argv)
    from fedloom.data.examples import make_breast_split

    urls = {9999: args.guest_url, 10000: args.host_url, 10001: args.arbiter_url}
    wait_healthy(urls, 120)
    clients = {p: FlowClient(url, token_of(p, args.secrets)) for p, url in urls.items()}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        guest_csv, host_csv = make_breast_split(Path(tmp))
        clients[9999].upload_table("experiment", "breast_hetero_guest", guest_csv, "y")
        clients[10000].upload_table("experiment", "breast_hetero_host", host_csv)
    dsl = json.loads((EXAMPLE / "dsl.json").read_text())
    conf = json.loads((EXAMPLE / "conf.json").read_text())
    job_id = clients[9999].submit(dsl, conf)
    print(f"submitted job {job_id} to party 9999", file=sys.stderr, flush=True)
    status = clients[9999].wait(job_id, timeout=args.timeout, poll=2.0)
    auc = ks = None
    if status.get("status") == "success":
        metrics = clients[9999].metrics(job_id, "evaluation_0")
        auc, ks = find_metric(metrics, "auc"), find_metric(metrics, "ks")
    ok = status.get("status") == "success" and auc is not None and auc > args.min_auc
    summary = {
        "job_id": job_id,
        "status": status.get("status"),
        "auc": auc,
        "ks": ks,
        "min_auc": args.min_auc,
        "ok": ok,
        "job_seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary), flush=True)
    if not ok:
        print(json.dumps(status, indent=2, default=str), file=sys.stderr)
    for client in clients.values():
        client.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
