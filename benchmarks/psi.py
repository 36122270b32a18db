"""PSI throughput: a guest and a host with N ids each (half shared), each party in its own process.

    python benchmarks/psi.py [--method ecdh|rsa] [--n 1000000] [--grpc] [--workers W]
                             [--batch-size B] [--key-length 2048] [--rsa-backend auto]

Ids are FATE-like strings (11 digits), shuffled at each party; ``n // 2`` are shared. The two
party processes talk through a local link (default, ``"transport": "memory"``: a socket pair
feeding an in-memory broker in each process, no proxy) or, with ``--grpc``, through two real
proxies (``services.proxy``, in this process, 127.0.0.1). Each party has its own crypto
workers (``--workers``, default: the library's choice). The time runs from both parties ready
(ids built, transport up) to both done; the result is checked at both parties (size, SHA-256
of the sorted intersection, a sample of ids, positions). One JSON line per run:

    {"method", "n", "transport", "seconds", "ids_per_s", "peak_rss_mb", ...}

``ids_per_s`` = ``n / seconds``. ``peak_rss_mb``: the larger party's peak memory, i.e. its main
process's ``VmHWM`` plus the sum of its children's (workers, resource tracker), sampled from
``/proc`` every 0.2 s. ``parties`` breaks it down, with ``before_run`` (interpreter, libraries,
input ids) and the party's CPU seconds during the run (``cpu_s``, workers included).
``--profile DIR`` writes a cProfile of each party's main process.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack, nullcontext, suppress
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from fedloom.federation import (
    Context,
    Envelope,
    InMemoryBroker,
    JobParties,
    Messenger,
    Party,
    Serde,
    Transport,
)
from fedloom.ml.psi import IntersectionGuest, IntersectionHost, IntersectParam
from fedloom.ml.psi.workers import resolve_workers

PARTIES = JobParties.of(guest=9999, hosts=[10000])
ROLES = {"guest": PARTIES.guest, "host": PARTIES.hosts[0]}
_MULT, _OFFSET, _MOD = 2654435761, 13_000_000_000, 10**11  # _MULT is a unit mod _MOD
_SAMPLE = 5
_START_TIMEOUT_S = 600.0


def make_id(i: int) -> str:
    """The i-th benchmark id: 11 digits, distinct for distinct ``i < 10**11``."""
    return f"{(i * _MULT + _OFFSET) % _MOD:011d}"


def party_ids(role: str, n: int, seed: int) -> list[str]:
    """The party's input: guest ids ``0..n-1``, host ids from ``n - n//2``, shuffled."""
    first = 0 if role == "guest" else n - n // 2
    order = np.random.default_rng([seed, 0 if role == "guest" else 1]).permutation(n) + first
    return [make_id(i) for i in order.tolist()]


def expected(n: int) -> tuple[str, list[str]]:
    """SHA-256 of the sorted intersection (one id per line) and a sample of its ids."""
    shared = sorted(make_id(i) for i in range(n - n // 2, n))
    return _digest(shared), _sample(shared)


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def _sample(ids: list[str]) -> list[str]:
    picks = np.linspace(0, len(ids) - 1, num=min(_SAMPLE, len(ids))).astype(int).tolist()
    return [ids[i] for i in picks] if ids else []


# -- the local link between the two party processes ------------------------------------------


class LinkTransport(Transport):
    """Envelopes to the peer process over a socket; received ones go to a local in-memory broker.

    Each envelope is two frames (``send_bytes``): a JSON header and the raw payload. Nothing is
    unpickled.
    """

    def __init__(self, conn: Connection, job_id: str) -> None:
        self.broker, self._conn, self._job_id = InMemoryBroker(), conn, job_id
        self._lock = threading.Lock()
        threading.Thread(target=self._read, name="link-reader", daemon=True).start()

    def _send(self, header: list[Any], payload: bytes = b"") -> None:
        with self._lock:
            self._conn.send_bytes(json.dumps(header).encode())
            self._conn.send_bytes(payload)

    def push(self, envelope: Envelope) -> None:
        """Send one envelope to the peer process."""
        e = envelope
        header = [e.job_id, e.src.role, e.src.party_id, e.dst.role, e.dst.party_id, e.tag]
        self._send([*header, e.seq, e.chunk_index, e.chunk_count, e.checksum.hex()], e.payload)

    def pull(self, job_id: str, src: Party, dst: Party, tag: str, timeout: float) -> Envelope:
        """Take the next envelope of the key from the local broker."""
        return self.broker.pull(job_id, src, dst, tag, timeout)

    def abort(self, job_id: str, reason: str) -> None:
        """Abort locally and tell the peer."""
        self.broker.abort(job_id, reason)
        with suppress(OSError):
            self._send(["abort", job_id, reason])

    def _read(self) -> None:
        try:
            while True:  # until the peer closes the link (EOFError)
                header, payload = json.loads(self._conn.recv_bytes()), self._conn.recv_bytes()
                if header[0] == "abort":
                    self.broker.abort(header[1], header[2])
                    continue
                job, src_role, src_id, dst_role, dst_id, tag, seq, index, count, check = header
                src, dst = Party(src_role, src_id), Party(dst_role, dst_id)
                envelope = Envelope(job, src, dst, tag, seq, index, count, payload, b"")
                self.broker.push(replace(envelope, checksum=bytes.fromhex(check)))
        except EOFError:
            return
        except (OSError, ValueError) as exc:  # a broken link ends the job
            self.broker.abort(self._job_id, f"link to the peer failed: {exc}")

    def close(self) -> None:
        """Close the link (the peer's reader sees its end)."""
        self._conn.close()


# -- one party (child process) ---------------------------------------------------------------


def _proc(pid: int | str, name: str) -> bytes:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _hwm_mb(pid: int | str = "self") -> float:
    """Peak resident memory of a process since it started its program (``VmHWM``), in MiB."""
    for line in _proc(pid, "status").splitlines():
        if line.startswith(b"VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class ChildMemory:
    """Polls the peak memory (``VmHWM``) of this process's children (its crypto workers).

    ``ru_maxrss`` of children is no use here: Linux carries the parent's size at ``fork`` over
    into a spawned child's maximum. VmHWM counts from the child's own program only.
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.peaks: dict[int, float] = {}
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="child-memory", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        own = _proc("self", "cmdline")
        while not self._stop.wait(self._interval):
            tasks = os.listdir("/proc/self/task")
            for pid in [int(p) for t in tasks for p in _proc(f"self/task/{t}", "children").split()]:
                # Between fork and exec a child still shows this process's memory as its own.
                if _proc(pid, "cmdline") not in (own, b""):
                    self.peaks[pid] = max(self.peaks.get(pid, 0.0), _hwm_mb(pid))

    def stop(self) -> float:
        """Stop polling; the sum of the children's peaks in MiB."""
        self._stop.set()
        self._thread.join()
        return sum(self.peaks.values())


def _cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_party(args: argparse.Namespace) -> None:
    """Child process: build the input and transport, wait for "go", run, report one line."""
    role, party = args.party, ROLES[args.party]
    ids = party_ids(role, args.n, args.seed)
    if args.link_fd is not None:
        transport: Transport = LinkTransport(Connection(args.link_fd), args.job)
    else:
        from fedloom.federation.grpc_transport import GrpcTransport

        transport = GrpcTransport(args.proxy)
    assert party is not None
    messenger = Messenger(transport, args.job, party, timeout=args.recv_timeout)
    ctx = Context(local=party, parties=PARTIES, messenger=messenger, serde=Serde())
    params = {"intersect_method": args.method, "rsa_params": {"key_length": args.key_length}}
    kind = IntersectionGuest if role == "guest" else IntersectionHost
    param = IntersectParam.model_validate(params)
    algo = kind(param, batch_size=args.batch_size, workers=args.workers)
    before, cpu_before = _hwm_mb(), _cpu_s(resource.RUSAGE_SELF)
    print(json.dumps({"ready": role}), flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit(f"{role}: no go signal")
    children = ChildMemory()
    started = time.perf_counter()
    profile = cProfile.Profile() if args.profile else None
    with profile if profile is not None else nullcontext():
        result = algo.run(ctx, ids)
    if profile is not None:
        profile.dump_stats(os.path.join(args.profile, f"{role}.prof"))
    seconds = time.perf_counter() - started
    child_mb = children.stop()
    transport.close()
    assert result.ids is not None and result.positions is not None
    if [ids[i] for i in result.positions.tolist()] != result.ids:
        raise SystemExit(f"{role}: positions do not point at the intersected ids")
    cpu = _cpu_s(resource.RUSAGE_SELF) - cpu_before
    report = {"role": role, "count": len(result.ids), "digest": _digest(result.ids)}
    report |= {"sample": _sample(result.ids), "seconds": seconds, "main_mb": _hwm_mb()}
    report |= {"children_mb": child_mb, "before_run_mb": before, "main_cpu_s": cpu}
    report |= {"workers": resolve_workers(algo.workers, len(ids))}
    report |= {"cpu_s": cpu + _cpu_s(resource.RUSAGE_CHILDREN)}
    print(json.dumps(report), flush=True)


# -- the orchestrator ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_proxies(stack: ExitStack) -> dict[str, str]:
    """Two proxies on 127.0.0.1 (in this process, in-memory mailboxes); address per role."""
    from services.proxy.server import start_proxy
    from services.proxy.settings import ProxySettings

    ports = {role: _free_port() for role in ROLES}
    addresses = {role: f"127.0.0.1:{port}" for role, port in ports.items()}
    for role, party in ROLES.items():
        assert party is not None
        routes = {p.party_id: addresses[r] for r, p in ROLES.items() if r != role and p}
        settings = ProxySettings(
            party_id=party.party_id, proxy_listen=addresses[role], routes=routes, redis_url=None
        )
        stack.callback(start_proxy(settings).stop, 0)
    return addresses


def _read_line(proc: subprocess.Popen[str], role: str) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        code = proc.wait(_START_TIMEOUT_S)
        raise SystemExit(f"{role} process ended (exit code {code}) without reporting")
    record: dict[str, Any] = json.loads(line)
    return record


def _party_stats(r: dict[str, Any]) -> dict[str, float]:
    stats = {"total": r["main_mb"] + r["children_mb"], "main": r["main_mb"]}
    stats |= {"children": r["children_mb"], "before_run": r["before_run_mb"]}
    stats |= {"cpu_s": r["cpu_s"], "main_cpu_s": r["main_cpu_s"]}
    return {k: round(v, 1) for k, v in stats.items()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start both parties, time the intersection, check it; the JSON record."""
    job = f"psi-bench-{uuid.uuid4().hex[:8]}"
    options = {"--method": args.method, "--n": args.n, "--key-length": args.key_length}
    options |= {"--seed": args.seed, "--job": job, "--recv-timeout": args.recv_timeout}
    options |= {"--batch-size": args.batch_size, "--workers": args.workers}
    options |= {"--profile": args.profile}
    base = [sys.executable, os.path.abspath(__file__)]
    base += [str(x) for k, v in options.items() if v is not None for x in (k, v)]
    env = {**os.environ}
    if args.rsa_backend is not None:
        env["FEDLOOM_RSA_BACKEND"] = args.rsa_backend
    with ExitStack() as stack:
        procs: dict[str, subprocess.Popen[str]] = {}
        extra: dict[str, tuple[list[str], tuple[int, ...]]]
        if args.grpc:
            addresses = _start_proxies(stack)
            extra = {role: (["--proxy", addresses[role]], ()) for role in ROLES}
        else:
            left, right = socket.socketpair()
            stack.callback(right.close)
            stack.callback(left.close)
            fds = {"guest": left.fileno(), "host": right.fileno()}
            extra = {role: (["--link-fd", str(fds[role])], (fds[role],)) for role in ROLES}
        for role in ROLES:
            command, pass_fds = extra[role]
            pipes: dict[str, Any] = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
            command = [*base, "--party", role, *command]
            proc = subprocess.Popen(command, text=True, pass_fds=pass_fds, env=env, **pipes)
            stack.callback(proc.wait, _START_TIMEOUT_S)
            stack.callback(_stop, proc)
            procs[role] = proc
        if not args.grpc:
            left.close()
            right.close()
        for role, proc in procs.items():
            _read_line(proc, role)
        started, cpu_started = time.perf_counter(), _cpu_s(resource.RUSAGE_SELF)
        for proc in procs.values():
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = {role: _read_line(proc, role) for role, proc in procs.items()}
        seconds = time.perf_counter() - started
        proxies_cpu_s = _cpu_s(resource.RUSAGE_SELF) - cpu_started

    digest, sample = expected(args.n)
    for role, report in reports.items():
        if report["count"] != args.n // 2 or report["digest"] != digest:
            raise SystemExit(f"{role}: wrong intersection ({report['count']} ids)")
        if report["sample"] != sample:
            raise SystemExit(f"{role}: sampled ids differ: {report['sample']} != {sample}")
    memory = {role: _party_stats(report) for role, report in reports.items()}
    return {
        "method": args.method,
        "n": args.n,
        "transport": "grpc" if args.grpc else "memory",
        "seconds": round(seconds, 3),
        "ids_per_s": round(args.n / seconds, 1),
        "peak_rss_mb": max(m["total"] for m in memory.values()),
        "intersection": args.n // 2,
        "verified": True,
        "workers": {role: report["workers"] for role, report in reports.items()},
        "key_length": args.key_length if args.method == "rsa" else None,
        "parties": memory,
        "proxies_cpu_s": round(proxies_cpu_s, 1) if args.grpc else None,
        "cpus": os.cpu_count(),
    }


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None and proc.stdin is not None:
        proc.stdin.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (``--party`` and below are for the child processes)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--method", choices=["ecdh", "rsa"], default="ecdh")
    ap.add_argument("--n", type=int, default=1_000_000, help="ids per party (half shared)")
    ap.add_argument("--grpc", action="store_true", help="through two real proxies over gRPC")
    ap.add_argument("--workers", type=int, help="worker processes per party (default: auto)")
    ap.add_argument("--batch-size", type=int, help="ids per message (default: by method)")
    ap.add_argument("--key-length", type=int, default=2048, help="RSA modulus bits")
    ap.add_argument("--rsa-backend", choices=["auto", "openssl", "gmpy2"])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--profile", metavar="DIR", help="cProfile each party's main process to DIR")
    ap.add_argument("--recv-timeout", type=float, default=600.0, help=argparse.SUPPRESS)
    for hidden, kind in (("--party", str), ("--job", str), ("--link-fd", int), ("--proxy", str)):
        ap.add_argument(hidden, type=kind, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.n < 2:
        ap.error("--n must be at least 2")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run one benchmark and print its JSON line (or, with ``--party``, be one party)."""
    args = parse_args(argv)
    if args.party is not None:
        run_party(args)
        return
    print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
