"""Helpers of the end-to-end tests: real sites as subprocesses on loopback, driven over REST."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fedloom.data.examples import make_breast_split
from services.cli.client import FlowClient
from services.site import Site, local_configs

PARTIES = [9999, 10000, 10001]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hetero_lr"


def start_sites(
    base: Path,
    *,
    redis_url: str | None = None,
    database_urls: dict[int, str] | None = None,
    parties: list[int] | None = None,
    min_key_length: int = 1024,
) -> list[Site]:
    """Sites on loopback (default: guest 9999, host 10000, arbiter 10001; 1024-bit keys ok)."""
    sites: list[Site] = []
    try:
        for config in local_configs(
            base,
            parties or PARTIES,
            redis_url=redis_url,
            database_urls=database_urls,
            min_key_length=min_key_length,
        ):
            site = Site(config)
            sites.append(site)
            site.start(timeout=90)
    except BaseException:
        stop_sites(sites)
        raise
    return sites


def stop_sites(sites: list[Site]) -> None:
    """Stop every site, whatever state it is in."""
    for site in sites:
        site.stop()


def clients(sites: list[Site]) -> dict[int, FlowClient]:
    """A REST client per party."""
    return {s.config.party_id: FlowClient(s.config.flow_url, s.config.token) for s in sites}


def upload_breast(by_party: dict[int, FlowClient], data_dir: Path) -> None:
    """The breast split as experiment/breast_hetero_{guest,host} at 9999 and 10000."""
    guest_csv, host_csv = make_breast_split(data_dir)
    by_party[9999].upload_table("experiment", "breast_hetero_guest", guest_csv, "y")
    by_party[10000].upload_table("experiment", "breast_hetero_host", host_csv)


def example_job(max_iter: int = 5, key_length: int = 1024) -> tuple[dict[str, Any], dict[str, Any]]:
    """The example job with a short training run and test-sized keys."""
    dsl = json.loads((EXAMPLE / "dsl.json").read_text())
    conf = json.loads((EXAMPLE / "conf.json").read_text())
    common = conf["component_parameters"]["common"]
    common["hetero_lr_0"].update(
        {"max_iter": max_iter, "encrypt_param": {"key_length": key_length}, "tol": 0.0}
    )
    common["intersection_0"]["rsa_params"]["key_length"] = 1024
    return dsl, copy.deepcopy(conf)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until true, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout:g} s")


def component_status(job: dict[str, Any], component: str) -> str:
    """The aggregated status of one component in a job document."""
    for view in job["components"]:
        if view["component"] == component:
            return str(view["status"])
    raise KeyError(component)
