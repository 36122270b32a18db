"""The flow's adapter over the real ``fedloom.dsl`` planner, on the FATE example job."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flow_support import AUTH, GUEST_CSV, running_sites, upload

from services.flow.planning import InputRef, PlanError, fedloom_planner

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "hetero_lr"


@pytest.fixture
def job() -> dict[str, Any]:
    return {
        "dsl": json.loads((EXAMPLE / "dsl.json").read_text()),
        "conf": json.loads((EXAMPLE / "conf.json").read_text()),
    }


def test_example_job_is_planned(job: dict[str, Any]) -> None:
    plan = fedloom_planner(job["dsl"], job["conf"])
    assert plan.initiator == 9999 and plan.parties == [9999, 10000, 10001]
    assert plan.timeout_s == 3600
    names = [c.name for c in plan.components]
    assert names.index("reader_0") < names.index("intersection_0") < names.index("hetero_lr_0")
    assert plan.component("hetero_lr_0").inputs == (
        InputRef("train_data", "data", "intersection_0", "data"),
    )
    reader = plan.tasks_for_party(10000, "reader_0")
    assert [(t.role, t.index) for t in reader] == [("host", 0)]
    assert reader[0].params["table"] == {"name": "breast_hetero_host", "namespace": "experiment"}
    arbiter = {t.component for t in plan.tasks_for_party(10001)}
    assert "reader_0" not in arbiter and "hetero_lr_0" in arbiter
    assert plan.tasks_for_party(9999, "hetero_lr_0")[0].params["max_iter"] == 20


def test_dsl_errors_keep_their_paths(job: dict[str, Any]) -> None:
    bad = copy.deepcopy(job)
    bad["conf"]["component_parameters"]["common"]["hetero_lr_0"]["alpah"] = 0.1
    bad["dsl"]["components"]["reader_0"]["module"] = "Raeder"
    with pytest.raises(PlanError) as caught:
        fedloom_planner(bad["dsl"], bad["conf"])
    paths = [path for path, _ in caught.value.errors]
    assert "conf.component_parameters.common.hetero_lr_0.alpah" in paths
    assert "dsl.components.reader_0.module" in paths


def test_submission_with_the_real_planner(tmp_path: Path, job: dict[str, Any]) -> None:
    with running_sites(tmp_path, (9999,), peers=(10000, 10001), planner=fedloom_planner) as sites:
        guest = sites[9999]
        bad = copy.deepcopy(job)
        bad["conf"]["component_parameters"]["common"]["hetero_lr_0"]["alpah"] = 0.1
        response = guest.client.post("/api/v1/jobs", json=bad, headers=AUTH)
        assert response.status_code == 422
        assert response.json()["detail"][0]["path"] == (
            "conf.component_parameters.common.hetero_lr_0.alpah"
        )
        missing = guest.client.post("/api/v1/jobs", json=job, headers=AUTH)
        assert missing.status_code == 422
        assert "table experiment/breast_hetero_guest not found" in missing.text
        assert upload(guest, "experiment", "breast_hetero_guest", GUEST_CSV).status_code == 201
        unreachable = guest.client.post("/api/v1/jobs", json=job, headers=AUTH)
        assert unreachable.status_code == 502  # the peers have no flow in this test
