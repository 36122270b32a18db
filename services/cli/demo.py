"""``make demo``: three sites on loopback run FATE's hetero LR example on the breast split."""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from services.cli.client import FlowClient
from services.cli.local import DEFAULT_PARTIES, up

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hetero_lr"


def _centralized_auc(guest_csv: Path, host_csv: Path, conf: dict[str, Any]) -> dict[str, float]:
    """scikit-learn on the joined shared rows, with the job's HeteroLR parameters."""
    from fedloom.components import HeteroLogisticParam
    from fedloom.data import read_fate_csv
    from fedloom.ml.evaluation import auc, ks
    from fedloom.ml.hetero_lr.baseline import centralized_scores

    guest, host = read_fate_csv(guest_csv, label="y"), read_fate_csv(host_csv)
    shared = sorted(set(guest.ids) & set(host.ids))
    g_at = {i: k for k, i in enumerate(guest.ids)}
    h_at = {i: k for k, i in enumerate(host.ids)}
    g, h = guest.take([g_at[i] for i in shared]), host.take([h_at[i] for i in shared])
    assert g.labels is not None
    lr = conf["component_parameters"]["common"]["hetero_lr_0"]
    param = HeteroLogisticParam.model_validate(lr).to_ml()
    scores = centralized_scores(np.hstack([g.features, h.features]), g.labels, param)
    return {"auc": auc(g.labels, scores), "ks": ks(g.labels, scores)}


def run_demo(base_dir: Path, timeout: float = 300.0) -> int:
    """Start the sites, upload data, run the example job, print the outcome, stop the sites."""
    from fedloom.data.examples import make_breast_split

    shutil.rmtree(base_dir, ignore_errors=True)
    started = time.perf_counter()
    print(f"starting three sites {DEFAULT_PARTIES} under {base_dir} ...", flush=True)
    sites = up(base_dir, DEFAULT_PARTIES)
    try:
        configs = {s.config.party_id: s.config for s in sites}
        clients = {p: FlowClient(c.flow_url, c.token) for p, c in configs.items()}
        guest_csv, host_csv = make_breast_split(base_dir / "data")
        clients[9999].upload_table("experiment", "breast_hetero_guest", guest_csv, "y")
        clients[10000].upload_table("experiment", "breast_hetero_host", host_csv)
        dsl = json.loads((EXAMPLE / "dsl.json").read_text())
        conf = json.loads((EXAMPLE / "conf.json").read_text())
        job_id = clients[9999].submit(dsl, conf)
        print(f"submitted job {job_id} at party 9999", flush=True)
        status = clients[9999].wait(job_id, timeout=timeout)
        print(f"job {job_id}: {status['status']}", flush=True)
        if status["status"] != "success":
            print(json.dumps(status, indent=2, default=str))
            return 1
        metrics = clients[9999].metrics(job_id, "evaluation_0")
        federated = _flat_metric(metrics, "auc"), _flat_metric(metrics, "ks")
        central = _centralized_auc(guest_csv, host_csv, conf)
        predicted = _deploy_and_predict(clients[9999], job_id, timeout)
        print(
            json.dumps(
                {
                    "job_id": job_id,
                    "status": status["status"],
                    "auc": federated[0],
                    "ks": federated[1],
                    "auc_centralized": round(central["auc"], 6),
                    "ks_centralized": round(central["ks"], 6),
                    **predicted,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            ),
            flush=True,
        )
        return 0 if predicted["predict_status"] == "success" else 1
    finally:
        for site in sites:
            site.stop()
        (base_dir / "pids.json").unlink(missing_ok=True)


def _deploy_and_predict(guest: FlowClient, job_id: str, timeout: float) -> dict[str, Any]:
    """Deploy the job's model, score the same tables with a predict job (conf only), and say
    whether the deployed model reproduced the training job's scores."""
    info = guest.job(job_id)["model_info"]
    deployed = guest.deploy(info["model_id"], info["model_version"])
    print(f"deployed {deployed['model_id']} as version {deployed['model_version']}", flush=True)
    conf = json.loads((EXAMPLE / "predict_conf.json").read_text())
    conf["job_parameters"]["common"].update(
        model_id=deployed["model_id"], model_version=deployed["model_version"]
    )
    predict_id = guest.submit_job(None, conf)["job_id"]
    print(f"submitted predict job {predict_id} at party 9999", flush=True)
    status = guest.wait(predict_id, timeout=timeout)["status"]
    result: dict[str, Any] = {"predict_job_id": predict_id, "predict_status": status}
    if status == "success":
        trained = predict_scores("".join(guest.download_csv(job_id, "hetero_lr_0")))
        scored = predict_scores("".join(guest.download_csv(predict_id, "hetero_lr_0")))
        result["predict_rows"] = len(scored)
        result["predict_matches_training"] = scored == trained
    return result


def predict_scores(text: str) -> dict[str, str]:
    """id → predict_score of a prediction table downloaded as CSV."""
    rows = csv.DictReader(io.StringIO(text))
    return {row["id"]: row["predict_score"] for row in rows}


def _flat_metric(metrics: dict[str, Any], name: str) -> float | None:
    """Find ``name`` in a metrics document, however the component nests it."""
    if name in metrics and isinstance(metrics[name], int | float):
        return float(metrics[name])
    for value in metrics.values():
        if isinstance(value, dict):
            found = _flat_metric(value, name)
            if found is not None:
                return found
    return None
