"""A model lives on: train on three real sites, deploy, predict with the conf only, and get
the training job's scores back exactly, as CSV through the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import clients, example_job, start_sites, stop_sites, upload_breast

from services.cli.client import FlowClient
from services.cli.main import main
from services.site import Site

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Site]]:
    base = tmp_path_factory.mktemp("lifecycle")
    running = start_sites(base)
    upload_breast(clients(running), base / "data")
    yield running
    stop_sites(running)


def _scores(text: str) -> dict[str, tuple[str, str, str]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return {r["id"]: (r["predict_score"], r["predict_result"], r["type"]) for r in rows}


def _download(site: Site, job_id: str, out: Path) -> str:
    argv = ["job", "output", job_id, "hetero_lr_0", "--csv", str(out)]
    argv += ["--url", site.config.flow_url, "--token", site.config.token]
    assert main(argv) == 0
    return out.read_text()


def test_deployed_model_reproduces_the_training_scores(
    sites: list[Site], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    guest = next(s for s in sites if s.config.party_id == 9999)
    by_party: dict[int, FlowClient] = clients(sites)
    dsl, conf = example_job(max_iter=3)
    created = by_party[9999].submit_job(dsl, conf)
    info = created["model_info"]
    assert info["model_version"] == created["job_id"]
    assert info["model_id"] == "arbiter-10001#guest-9999#host-10000#model"
    assert by_party[9999].wait(created["job_id"], timeout=240)["status"] == "success"

    deployed = by_party[9999].deploy(info["model_id"], info["model_version"])
    assert set(deployed["inference_dsl"]["components"]) == {
        "reader_0",
        "data_transform_0",
        "intersection_0",
        "hetero_lr_0",
    }
    for party in (10000, 10001):
        versions = [m["model_version"] for m in by_party[party].models(info["model_id"])]
        assert deployed["model_version"] in versions

    predict_conf = {
        "dsl_version": 2,
        "initiator": conf["initiator"],
        "role": conf["role"],
        "job_parameters": {
            "common": {
                "job_type": "predict",
                "model_id": deployed["model_id"],
                "model_version": deployed["model_version"],
            }
        },
        "component_parameters": {
            "role": {
                "guest": {"0": {"reader_0": {"table": conf_table(conf, "guest")}}},
                "host": {"0": {"reader_0": {"table": conf_table(conf, "host")}}},
            }
        },
    }
    predicted = by_party[9999].submit_job(None, predict_conf)
    assert predicted["model_info"] == {
        "model_id": deployed["model_id"],
        "model_version": deployed["model_version"],
    }
    job = by_party[9999].wait(predicted["job_id"], timeout=240)
    assert job["status"] == "success", job
    assert job["job_type"] == "predict"

    trained = _scores(_download(guest, created["job_id"], tmp_path / "train.csv"))
    scored = _scores(_download(guest, predicted["job_id"], tmp_path / "predict.csv"))
    assert scored.keys() == trained.keys() and len(scored) > 100
    assert {k: v[:2] for k, v in scored.items()} == {k: v[:2] for k, v in trained.items()}
    assert {v[2] for v in scored.values()} == {"test"}
    assert {v[2] for v in trained.values()} == {"train"}
    header = (tmp_path / "predict.csv").read_text().splitlines()[0]
    assert header == "id,label,predict_result,predict_score,predict_detail,type"

    host = next(s for s in sites if s.config.party_id == 10000)
    target = ["--url", host.config.flow_url, "--token", host.config.token]
    capsys.readouterr()
    assert main(["model", "list", *target, "--model-id", info["model_id"]]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {m["kind"] for m in listed} == {"trained", "deployed"}
    assert all(m["local_parts"]["hetero_lr_0"] == ["host"] for m in listed)
    key = ["--model-id", info["model_id"], "--model-version", info["model_version"]]
    part = tmp_path / "host-part.zip"
    assert main(["model", "export", *target, *key, "-o", str(part)]) == 0
    assert part.stat().st_size > 0
    capsys.readouterr()
    assert main(["model", "import", *target, str(part)]) == 2  # that version is there already
    assert "409" in capsys.readouterr().err


def conf_table(conf: dict[str, object], role: str) -> object:
    """The Reader table a role read in the train conf."""
    params = conf["component_parameters"]
    assert isinstance(params, dict)
    return params["role"][role]["0"]["reader_0"]["table"]


def test_intersection_cache_crosses_components(sites: list[Site]) -> None:
    """FATE's cache job: intersect_0 writes a cache, intersect_1 reads it (input.cache)."""
    by_party = clients(sites)
    read = {"data": {"data": ["data_transform_0.data"]}}
    dsl = {
        "components": {
            "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
            "data_transform_0": {
                "module": "DataTransform",
                "input": {"data": {"data": ["reader_0.data"]}},
                "output": {"data": ["data"], "model": ["model"]},
            },
            "intersect_0": {
                "module": "Intersection",
                "input": read,
                "output": {"cache": ["cache"]},
            },
            "intersect_1": {
                "module": "Intersection",
                "input": {**read, "cache": ["intersect_0.cache"]},
                "output": {"data": ["data"]},
            },
        }
    }
    _, example = example_job()
    tables = {role: conf_table(example, role) for role in ("guest", "host")}
    conf = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": 9999},
        "role": {"guest": [9999], "host": [10000]},
        "component_parameters": {
            "common": {
                "intersect_0": {
                    "intersect_method": "rsa",
                    "rsa_params": {"hash_method": "sha256", "key_length": 2048},
                    "run_cache": True,
                },
                "intersect_1": {"intersect_method": "rsa", "only_output_key": True},
            },
            "role": {
                role: {"0": {"reader_0": {"table": table}, "data_transform_0": {}}}
                for role, table in tables.items()
            },
        },
    }
    job_id = by_party[9999].submit(dsl, conf)
    job = by_party[9999].wait(job_id, timeout=240)
    assert job["status"] == "success", job
    first = by_party[9999].metrics(job_id, "intersect_0")["metrics"]["guest"]
    second = by_party[9999].metrics(job_id, "intersect_1")["metrics"]["guest"]
    assert second["intersect_count"] == first["intersect_count"] > 100
    rows = "".join(by_party[9999].download_csv(job_id, "intersect_1")).splitlines()
    assert rows[0] == "id" and len(rows) == second["intersect_count"] + 1
