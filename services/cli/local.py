"""Several sites on one machine (loopback): ``fedloom local up|down`` and the demo."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from services.site import Site, SiteConfig, local_configs, sites_json

DEFAULT_PARTIES = [9999, 10000, 10001]


def up(base_dir: Path, parties: list[int], redis_url: str | None = None) -> list[Site]:
    """Start one site per party under ``base_dir`` and write sites.json and pids.json."""
    if (base_dir / "pids.json").exists():
        raise SystemExit(f"{base_dir}/pids.json exists: sites may be running; run local down")
    base_dir.mkdir(parents=True, exist_ok=True)
    sites: list[Site] = []
    try:
        for config in local_configs(base_dir, parties, redis_url=redis_url):
            site = Site(config)
            sites.append(site)
            site.start()
    except BaseException:
        for site in sites:
            site.stop()
        raise
    configs = [s.config for s in sites]
    (base_dir / "sites.json").write_text(json.dumps(sites_json(configs), indent=2))
    (base_dir / "configs.json").write_text(
        json.dumps([c.model_dump(mode="json") for c in configs], indent=2)
    )
    pids = {str(s.config.party_id): s.pids() for s in sites}
    (base_dir / "pids.json").write_text(json.dumps(pids, indent=2))
    return sites


def down(base_dir: Path, grace: float = 5.0) -> int:
    """Stop the sites recorded in pids.json; returns how many processes were signalled."""
    pid_file = base_dir / "pids.json"
    if not pid_file.exists():
        return 0
    groups = [pid for site in json.loads(pid_file.read_text()).values() for pid in site.values()]
    _signal_all(groups, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in groups):
        time.sleep(0.1)
    _signal_all([p for p in groups if _alive(p)], signal.SIGKILL)
    pid_file.unlink()
    return len(groups)


def load_configs(base_dir: Path) -> list[SiteConfig]:
    """The configs ``up`` wrote."""
    return [
        SiteConfig.model_validate(c) for c in json.loads((base_dir / "configs.json").read_text())
    ]


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True
