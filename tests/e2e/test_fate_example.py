"""FATE's own hetero_lr_normal job files run unchanged but for table names and party ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_support import clients, start_sites, stop_sites, upload_breast

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parents[1] / "dsl" / "fixtures"


def test_fate_hetero_lr_normal_runs_with_10000_as_host_and_arbiter(tmp_path: Path) -> None:
    dsl = json.loads((FIXTURES / "hetero_lr_normal_dsl.json").read_text())
    conf = json.loads((FIXTURES / "hetero_lr_normal_conf.json").read_text())
    assert conf["role"] == {"arbiter": [10000], "host": [10000], "guest": [9999]}
    sites = start_sites(tmp_path / "sites", parties=[9999, 10000], min_key_length=2048)
    try:
        by_party = clients(sites)
        upload_breast(by_party, tmp_path / "data")
        job_id = by_party[9999].submit(dsl, conf)
        job = by_party[9999].wait(job_id, timeout=400)
        assert job["status"] == "success", job
        roles_at_10000 = {
            t["role"]
            for c in job["components"]
            if c["component"] == "hetero_lr_0"
            for t in c["tasks"]
            if t["party_id"] == 10000
        }
        assert roles_at_10000 == {"host", "arbiter"}
    finally:
        stop_sites(sites)
