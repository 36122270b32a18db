"""FATE job files name outputs freely (``"output": {"data": ["train"]}``): the flow hands the
downstream task the output the DSL means, whatever key the component wrote it under."""

from __future__ import annotations

from pathlib import Path

import pytest
from flow_support import (
    AUTH,
    GUEST,
    GUEST_CSV,
    HOST,
    HOST_CSV,
    running_sites,
    sample_job,
    upload,
    wait_status,
)

from services.common.contracts import ArtifactRef
from services.flow.planning import fedloom_planner
from services.flow.taskspec import pick_output

pytestmark = pytest.mark.integration


def test_a_renamed_output_reaches_the_downstream_task(tmp_path: Path) -> None:
    job = sample_job()
    components = job["dsl"]["components"]
    components["intersection_0"]["output"] = {"data": ["train_rows"]}
    components["hetero_lr_0"]["input"]["data"]["train_data"] = ["intersection_0.train_rows"]
    with running_sites(tmp_path, planner=fedloom_planner) as sites:
        upload(sites[GUEST], "exp", "guest", GUEST_CSV)
        upload(sites[HOST], "exp", "host", HOST_CSV)
        response = sites[GUEST].client.post("/api/v1/jobs", json=job, headers=AUTH)
        assert response.status_code == 201, response.text
        wait_status(sites[GUEST], response.json()["job_id"], "success")
        specs = {s.component: s for s in sites[HOST].executor.specs}
        given = specs["hetero_lr_0"].inputs["train_data"].path
        assert given == str(Path(specs["intersection_0"].output_dir) / "data.npz")


@pytest.mark.unit
def test_outputs_map_by_key_then_by_position() -> None:
    split = {k: ArtifactRef(kind="data", path=k) for k in ("train", "validate", "test")}
    names = ("a", "b", "c")
    assert pick_output(split, "validate", names) == split["validate"]
    assert pick_output(split, "c", names) == split["test"]
    assert pick_output(split, "d", names) is None
    one = {"data": ArtifactRef(kind="data", path="x")}
    assert pick_output(one, "train", ("train",)) == one["data"]
