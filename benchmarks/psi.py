"""PSI throughput: a guest and a host with N ids each (half shared), each party in its own process.

    python benchmarks/psi.py [--method ecdh|rsa] [--n 1000000] [--grpc] [--workers W]
                             [--batch-size B] [--key-length 2048] [--rsa-backend auto]

Ids are FATE-like strings (11 digits, e.g. phone numbers), in a random order at each party;
guest and host share ``n // 2`` of them. The two parties run in two processes started by this
script and talk either through a local link (default, ``"transport": "memory"``: each party's
messages land in an in-memory broker of the receiving process, carried by a socket pair; no
network, no proxy) or, with ``--grpc``, through two real proxies (``services.proxy``, started
in this process on 127.0.0.1), one per party, over gRPC. Each party uses its own worker
processes for the crypto (``--workers``; default: the library's choice, one per CPU).

The run is timed from the moment both parties have their ids and their transport ready until
both have their result, and checked: both parties find exactly the ``n // 2`` shared ids (a
SHA-256 of the sorted intersection, plus a sample of ids compared exactly), and each party's
positions point at those ids in its own input. One JSON line per run:

    {"method", "n", "transport", "seconds", "ids_per_s", "peak_rss_mb", ...}

``ids_per_s`` is ``n / seconds`` (ids per party). ``peak_rss_mb`` is the larger party's peak
resident memory: the peak of its main process (``VmHWM``) plus the sum of the peaks of its
child processes (the crypto workers and multiprocessing's resource tracker), sampled every
0.2 s from ``/proc`` while the run lasts; an upper bound of the party's simultaneous total.
``parties`` has the breakdown, the main process's peak before the run (``before_run``:
interpreter, libraries and the party's input ids) and the CPU seconds the party used during
the run, workers included (``cpu_s``). ``--profile DIR`` writes a cProfile of each party's main
process (the workers' share shows as waiting; use ``--workers 1`` to profile the crypto).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import replace
from typing import IO, Any

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

    Frames are a length-prefixed JSON header and the raw payload: nothing is unpickled.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.broker = InMemoryBroker()
        self._sock = sock
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="link-reader", daemon=True)
        self._reader.start()

    def _send(self, header: list[Any], payload: bytes = b"") -> None:
        head = json.dumps(header).encode()
        with self._lock:
            self._sock.sendall(struct.pack(">II", len(head), len(payload)) + head)
            self._sock.sendall(payload)

    def push(self, envelope: Envelope) -> None:
        """Send one envelope to the peer process."""
        e = envelope
        header = [e.job_id, e.src.role, e.src.party_id, e.dst.role, e.dst.party_id, e.tag]
        header += [e.seq, e.chunk_index, e.chunk_count, e.checksum.hex()]
        self._send(["env", *header], e.payload)

    def pull(self, job_id: str, src: Party, dst: Party, tag: str, timeout: float) -> Envelope:
        """Take the next envelope of the key from the local broker."""
        return self.broker.pull(job_id, src, dst, tag, timeout)

    def abort(self, job_id: str, reason: str) -> None:
        """Abort locally and tell the peer."""
        self.broker.abort(job_id, reason)
        try:
            self._send(["abort", job_id, reason])
        except OSError:
            pass

    def _read_exact(self, size: int) -> bytes | None:
        buf = bytearray(size)
        view, got = memoryview(buf), 0
        while got < size:
            n = self._sock.recv_into(view[got:])
            if n == 0:
                return None
            got += n
        return bytes(buf)

    def _read(self) -> None:
        while True:  # until the peer closes the link
            sizes = self._read_exact(8)
            if sizes is None:
                return
            head_len, payload_len = struct.unpack(">II", sizes)
            head, payload = self._read_exact(head_len), self._read_exact(payload_len)
            if head is None or payload is None:
                return
            h = json.loads(head)
            if h[0] == "abort":
                self.broker.abort(h[1], h[2])
                continue
            job, src_role, src_id, dst_role, dst_id, tag, seq, index, count, checksum = h[1:]
            src, dst = Party(src_role, src_id), Party(dst_role, dst_id)
            envelope = Envelope(job, src, dst, tag, seq, index, count, payload, b"")
            self.broker.push(replace(envelope, checksum=bytes.fromhex(checksum)))

    def close(self) -> None:
        """Close the socket (the peer's reader sees the end of the link)."""
        self._sock.close()


# -- one party (child process) ---------------------------------------------------------------


def _hwm_mb(pid: int | str = "self") -> float:
    """Peak resident memory of a process since it started its program (``VmHWM``), in MiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _cmdline(pid: int | str) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


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

    @staticmethod
    def _children() -> list[int]:
        pids: list[int] = []
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/children") as f:
                    pids += [int(p) for p in f.read().split()]
            except OSError:
                continue
        return pids

    def _poll(self) -> None:
        own = _cmdline("self")
        while not self._stop.wait(self._interval):
            for pid in self._children():
                # Between fork and exec a child still shows this process's memory as its own.
                if _cmdline(pid) not in (own, b""):
                    self.peaks[pid] = max(self.peaks.get(pid, 0.0), _hwm_mb(pid))

    def stop(self) -> tuple[int, float]:
        """Stop polling; ``(number of children seen, sum of their peaks in MiB)``."""
        self._stop.set()
        self._thread.join()
        return len(self.peaks), sum(self.peaks.values())


def _cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _emit(out: IO[str], record: dict[str, Any]) -> None:
    out.write(json.dumps(record) + "\n")
    out.flush()


def run_party(args: argparse.Namespace) -> None:
    """Child process: build the input and transport, wait for "go", run, report one line."""
    role, party = args.party, ROLES[args.party]
    ids = party_ids(role, args.n, args.seed)
    if args.link_fd is not None:
        transport: Transport = LinkTransport(socket.socket(fileno=args.link_fd))
    else:
        from fedloom.federation.grpc_transport import GrpcTransport

        transport = GrpcTransport(args.proxy)
    assert party is not None
    ctx = Context(
        local=party,
        parties=PARTIES,
        messenger=Messenger(transport, args.job, party, timeout=args.recv_timeout),
        serde=Serde(),
    )
    params = IntersectParam.model_validate(
        {"intersect_method": args.method, "rsa_params": {"key_length": args.key_length}}
    )
    kind = IntersectionGuest if role == "guest" else IntersectionHost
    algo = kind(params, batch_size=args.batch_size, workers=args.workers)
    before, cpu_before = _hwm_mb(), _cpu_s(resource.RUSAGE_SELF)
    _emit(sys.stdout, {"ready": role})
    if sys.stdin.readline().strip() != "go":
        raise SystemExit(f"{role}: no go signal")
    children = ChildMemory()
    started = time.perf_counter()
    if args.profile:
        import cProfile

        with cProfile.Profile() as profile:
            result = algo.run(ctx, ids)
        profile.dump_stats(os.path.join(args.profile, f"{role}.prof"))
    else:
        result = algo.run(ctx, ids)
    seconds = time.perf_counter() - started
    child_count, child_mb = children.stop()
    transport.close()
    assert result.ids is not None and result.positions is not None
    if [ids[i] for i in result.positions.tolist()] != result.ids:
        raise SystemExit(f"{role}: positions do not point at the intersected ids")
    _emit(
        sys.stdout,
        {
            "role": role,
            "count": len(result.ids),
            "digest": _digest(result.ids),
            "sample": _sample(result.ids),
            "seconds": seconds,
            "main_mb": _hwm_mb(),
            "children_mb": child_mb,
            "children": child_count,
            "workers": resolve_workers(algo.workers, len(ids)),
            "before_run_mb": before,
            "main_cpu_s": _cpu_s(resource.RUSAGE_SELF) - cpu_before,
            "cpu_s": _cpu_s(resource.RUSAGE_SELF) + _cpu_s(resource.RUSAGE_CHILDREN) - cpu_before,
        },
    )


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
            party_id=party.party_id,
            proxy_listen=addresses[role],
            routes=routes,
            redis_url=None,
        )
        proxy = start_proxy(settings)
        stack.callback(proxy.stop, 0)
    return addresses


def _read_line(proc: subprocess.Popen[str], role: str) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        code = proc.wait(_START_TIMEOUT_S)
        raise SystemExit(f"{role} process ended (exit code {code}) without reporting")
    record: dict[str, Any] = json.loads(line)
    return record


def _party_stats(report: dict[str, Any]) -> dict[str, float]:
    return {
        "total": round(report["main_mb"] + report["children_mb"], 1),
        "main": round(report["main_mb"], 1),
        "children": round(report["children_mb"], 1),
        "before_run": round(report["before_run_mb"], 1),
        "cpu_s": round(report["cpu_s"], 1),
        "main_cpu_s": round(report["main_cpu_s"], 1),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start both parties, time the intersection, check it; the JSON record."""
    job = f"psi-bench-{uuid.uuid4().hex[:8]}"
    base = [sys.executable, os.path.abspath(__file__), "--method", args.method, "--n", str(args.n)]
    base += ["--key-length", str(args.key_length), "--seed", str(args.seed), "--job", job]
    base += ["--recv-timeout", str(args.recv_timeout)]
    if args.batch_size is not None:
        base += ["--batch-size", str(args.batch_size)]
    if args.workers is not None:
        base += ["--workers", str(args.workers)]
    if args.profile:
        base += ["--profile", args.profile]
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
            stack.callback(left.close)
            stack.callback(right.close)
            fds = {"guest": left.fileno(), "host": right.fileno()}
            extra = {role: (["--link-fd", str(fds[role])], (fds[role],)) for role in ROLES}
        for role in ROLES:
            command, pass_fds = extra[role]
            proc = subprocess.Popen(
                [*base, "--party", role, *command],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                pass_fds=pass_fds,
                env=env,
            )
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
        "seconds": round(seconds, 2),
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
    ap.add_argument("--party", choices=list(ROLES), help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--link-fd", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--proxy", help=argparse.SUPPRESS)
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
