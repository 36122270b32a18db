"""fedloom.components: FATE modules run per role; the full hetero LR pipeline in one process."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fedloom.components import (
    REGISTRY,
    ComponentError,
    InputArtifact,
    TaskHooks,
    TaskResult,
    load_model,
    load_table,
    load_table_with_meta,
    run_task,
    save_table,
)
from fedloom.crypto import PaillierPublicKey, generate_plain_keypair
from fedloom.data import CsvFormatError, Table
from fedloom.dsl import parse_job
from fedloom.federation import (
    Context,
    HarnessResult,
    InMemoryTransport,
    JobParties,
    KeyRing,
    Messenger,
    Party,
    run_parties,
)

FIXTURES = Path(__file__).resolve().parents[1] / "dsl" / "fixtures"
TABLE_META = {"id_column": "id", "header": True}
Results = dict[tuple[str, int, str], TaskResult]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write a CSV file (cells as given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def make_tables(
    out: Path, rows: int = 120, seed: int = 3, missing: int = 3
) -> tuple[Path, Path, list[str]]:
    """Guest (id, y, x0..x2, some cells empty) and host (id, x0..x3) CSVs of a vertical split.

    Each party also holds ids the other does not; returns the paths and the shared ids.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 7))
    y = (x @ rng.normal(size=7) + 0.3 * rng.normal(size=rows) > 0).astype(int)
    ids = [f"u{i:04d}" for i in range(rows)]
    guest_rows = [i for i in range(rows) if i % 10 != 1]
    host_rows = [i for i in range(rows) if i % 10 != 2]
    blanks = set(rng.choice(guest_rows, size=missing, replace=False).tolist())
    guest = [
        [ids[i], str(y[i])]
        + ["" if i in blanks and j == 1 else repr(float(x[i, j])) for j in range(3)]
        for i in guest_rows
    ]
    host = [[ids[i]] + [repr(float(x[i, j])) for j in range(3, 7)] for i in reversed(host_rows)]
    shared = sorted(ids[i] for i in set(guest_rows) & set(host_rows))
    return (
        write_csv(out / "guest.csv", ["id", "y", "x0", "x1", "x2"], guest),
        write_csv(out / "host.csv", ["id", "x0", "x1", "x2", "x3"], host),
        shared,
    )


def job(
    lr: dict[str, Any] | None = None, intersection: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """FATE's hetero_lr_normal job (host and arbiter at 10000) with small, fast settings."""
    dsl = json.loads((FIXTURES / "hetero_lr_normal_dsl.json").read_text())
    conf = json.loads((FIXTURES / "hetero_lr_normal_conf.json").read_text())
    common = conf["component_parameters"]["common"]
    common["data_transform_0"].update(missing_fill=True, missing_fill_method="mean")
    common["intersection_0"] = {"intersect_method": "rsa", "rsa_params": {"key_length": 1024}}
    common["intersection_0"].update(intersection or {})
    common["hetero_lr_0"].update(
        {"batch_size": -1, "max_iter": 15, "init_param": {"init_method": "zeros"}}
    )
    common["hetero_lr_0"].update(lr or {})
    return dsl, conf


PLAIN_KEYS = TaskHooks(keygen=generate_plain_keypair)
"""The arbiter generates plaintext stand-in keys: the test hook, not a job parameter."""


def relaxed_keyring() -> KeyRing:
    """Admit the stand-in and small keys (tests only)."""
    return KeyRing(min_key_length=256, allow_plain=True)


def run_job(
    dsl: dict[str, Any],
    conf: dict[str, Any],
    tables: dict[int, Path],
    out: Path,
    *,
    hooks: TaskHooks | None = None,
    keyring: Callable[[], KeyRing] = relaxed_keyring,
) -> tuple[Results, HarnessResult]:
    """Plan the job and run every party's tasks in DAG order, like the flow and executors.

    Each (role, party) is a thread; each task gets ``ctx.sub(component)`` and the outputs of
    the same (role, party)'s upstream tasks as inputs.
    """
    plan = parse_job(dsl, conf)
    parties = JobParties.of(
        guest=plan.roles["guest"][0],
        hosts=plan.roles.get("host", []),
        arbiter=plan.roles["arbiter"][0] if plan.roles.get("arbiter") else None,
    )
    results: Results = {}
    lock = threading.Lock()

    def party_task(party: Party) -> Callable[[Context], None]:
        def run(ctx: Context) -> None:
            for name, role, index in plan.tasks_for_party(party.party_id):
                if role != party.role:
                    continue
                comp = plan.component(name)
                inputs: dict[str, InputArtifact] = {}
                if comp.module == "Reader":
                    inputs["table"] = InputArtifact("table", tables[party.party_id], TABLE_META)
                for key, ref in comp.input_keys().items():
                    upstream = results.get((role, party.party_id, ref.component))
                    if upstream is None:  # the upstream component does not run at this role
                        continue
                    path = upstream.data.get("data") if ref.kind == "data" else upstream.model
                    if path is not None:
                        inputs[key] = InputArtifact(ref.kind, path)
                result = run_task(
                    comp.module,
                    role,
                    party.party_id,
                    ctx.sub(name),
                    plan.params_for(name, role, index),
                    inputs,
                    out / str(party.party_id) / role / name,
                    hooks=hooks,
                )
                with lock:
                    results[(role, party.party_id, name)] = result

        return run

    harness = run_parties(
        parties, {p: party_task(p) for p in parties.all}, keyring=keyring, timeout=60
    )
    return results, harness


def local_context(role: str = "guest", party_id: int = 9999) -> Context:
    """A context for tasks that do not talk to peers (Reader, DataTransform, Evaluation)."""
    parties = JobParties.of(guest=9999, hosts=[10000], arbiter=10001)
    local = Party(role, party_id)  # type: ignore[arg-type]
    return Context(
        local=local, parties=parties, messenger=Messenger(InMemoryTransport(), "job", local)
    ).sub("component_0")


READER = {"table": {"name": "t", "namespace": "experiment"}}


def _table(path: Path) -> dict[str, InputArtifact]:
    return {"table": InputArtifact("table", path, TABLE_META)}


def _read_and_transform(csv_path: Path, out: Path, **transform: Any) -> TaskResult:
    ctx = local_context()
    read = run_task("Reader", "guest", 9999, ctx, READER, _table(csv_path), out / "r")
    inputs = {"data": InputArtifact("data", read.data["data"])}
    return run_task("DataTransform", "guest", 9999, ctx, transform, inputs, out / "d")


@pytest.mark.integration
def test_full_pipeline_guest_host_arbiter(tmp_path: Path) -> None:
    guest_csv, host_csv, shared = make_tables(tmp_path / "in")
    dsl, conf = job()
    results, _ = run_job(
        dsl, conf, {9999: guest_csv, 10000: host_csv}, tmp_path / "out", hooks=PLAIN_KEYS
    )

    guest_aligned = load_table(results[("guest", 9999, "intersection_0")].data["data"])
    host_aligned = load_table(results[("host", 10000, "intersection_0")].data["data"])
    assert guest_aligned.ids == host_aligned.ids == shared
    assert guest_aligned.labels is not None and host_aligned.labels is None
    assert results[("guest", 9999, "data_transform_0")].metrics["missing_filled"] == 3
    assert not np.isnan(guest_aligned.features).any()

    predictions, meta = load_table_with_meta(results[("guest", 9999, "hetero_lr_0")].data["data"])
    assert predictions.ids == shared and predictions.header == ["predict_result", "predict_score"]
    assert meta["type"] == "train" and meta["producer"] == "hetero_lr_0"
    np.testing.assert_array_equal(predictions.labels, guest_aligned.labels)
    guest_model = load_model(results[("guest", 9999, "hetero_lr_0")].model)  # type: ignore[arg-type]
    host_model = load_model(results[("host", 10000, "hetero_lr_0")].model)  # type: ignore[arg-type]
    arbiter = results[("arbiter", 10000, "hetero_lr_0")]
    guest_param, host_param = guest_model["model_param"], host_model["model_param"]
    assert guest_param["header"] == ["x0", "x1", "x2"] and len(guest_param["weight"]) == 3
    assert "intercept" in guest_param and "intercept" not in host_param
    assert host_param["header"] == ["x0", "x1", "x2", "x3"] and len(host_param["weight"]) == 4
    assert arbiter.data == {} and len(arbiter.metrics["loss"]) == arbiter.metrics["n_iter"]
    arbiter_model = load_model(arbiter.model)  # type: ignore[arg-type]
    assert arbiter_model["model_param"]["loss_history"] == arbiter.metrics["loss"]
    assert arbiter.metrics["loss"][-1] < arbiter.metrics["loss"][0]
    assert results[("host", 10000, "hetero_lr_0")].data == {}

    train = results[("guest", 9999, "hetero_lr_0")].metrics["train"]
    evaluation = results[("guest", 9999, "evaluation_0")].metrics["hetero_lr_0"]["train"]
    assert evaluation["auc"] == pytest.approx(train["auc"]) and evaluation["auc"] > 0.85
    for key in ("ks", "ks_curve", "roc", "lift", "gain", "confusion_mat", "f1_score"):
        assert key in evaluation
    assert results[("host", 10000, "evaluation_0")] == TaskResult()
    assert results[("arbiter", 10000, "evaluation_0")] == TaskResult()


@pytest.mark.integration
def test_pipeline_with_real_paillier(tmp_path: Path) -> None:
    guest_csv, host_csv, shared = make_tables(tmp_path / "in", rows=40, missing=1)
    dsl, conf = job(
        lr={"max_iter": 2, "encrypt_param": {"key_length": 512}},
        intersection={"intersect_method": "ecdh"},
    )
    results, harness = run_job(
        dsl,
        conf,
        {9999: guest_csv, 10000: host_csv},
        tmp_path / "out",
        keyring=lambda: KeyRing(min_key_length=512),
    )
    keys = [r.value for r in harness.received[Party("host", 10000)] if r.tag.endswith("pubkey")]
    assert len(keys) == 1 and isinstance(keys[0], PaillierPublicKey)
    assert keys[0].key_length == 512
    assert results[("guest", 9999, "hetero_lr_0")].metrics["n_iter"] == 2
    assert load_table(results[("guest", 9999, "hetero_lr_0")].data["data"]).ids == shared
    assert "auc" in results[("guest", 9999, "evaluation_0")].metrics["hetero_lr_0"]["train"]


@pytest.mark.integration
def test_intersection_only_output_key_and_no_sync(tmp_path: Path) -> None:
    guest_csv, host_csv, shared = make_tables(tmp_path / "in", rows=30, missing=0)
    dsl, conf = job(intersection={"intersect_method": "ecdh", "only_output_key": True})
    del dsl["components"]["hetero_lr_0"], dsl["components"]["evaluation_0"]
    del conf["component_parameters"]["common"]["hetero_lr_0"]
    del conf["component_parameters"]["common"]["evaluation_0"]
    tables = {9999: guest_csv, 10000: host_csv}
    results, _ = run_job(dsl, conf, tables, tmp_path / "a")
    aligned = load_table(results[("guest", 9999, "intersection_0")].data["data"])
    assert aligned.ids == shared and aligned.header == [] and aligned.labels is None

    conf["component_parameters"]["common"]["intersection_0"]["sync_intersect_ids"] = False
    results, _ = run_job(dsl, conf, tables, tmp_path / "b")
    host = results[("host", 10000, "intersection_0")]
    assert host.data == {} and host.metrics["intersect_count"] is None
    assert results[("guest", 9999, "intersection_0")].metrics["intersect_count"] == len(shared)


@pytest.mark.unit
def test_bad_csv_cell_names_line_and_column(tmp_path: Path) -> None:
    rows = [["a", "1", "0.5"], ["b", "0", "0.1"], ["c", "1", "abc"]]
    path = write_csv(tmp_path / "bad.csv", ["id", "y", "x0"], rows)
    with pytest.raises(CsvFormatError, match=r"line 4, column 'x0': 'abc' is not a number"):
        run_task("Reader", "guest", 9999, local_context(), READER, _table(path), tmp_path)
    short = write_csv(tmp_path / "short.csv", ["id", "y", "x0"], [["a", "1"]])
    with pytest.raises(CsvFormatError, match="line 2 has 2 fields"):
        run_task("Reader", "guest", 9999, local_context(), READER, _table(short), tmp_path)


@pytest.mark.unit
def test_reader_keeps_missing_cells_for_data_transform(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["id", "y", "x0"], [["a", "1", "NA"], ["b", "0", "2"]])
    kept = _read_and_transform(path, tmp_path / "no_fill", with_label=True)
    assert np.isnan(load_table(kept.data["data"]).features[0, 0])
    assert kept.metrics["missing_kept"] == 1 and kept.metrics["missing_filled"] == 0
    filled = _read_and_transform(
        path, tmp_path / "fill", with_label=True, missing_fill=True, default_value=-1
    )
    table = load_table(filled.data["data"])
    assert table.features[:, 0].tolist() == [-1.0, 2.0] and table.labels is not None
    model = load_model(filled.model)  # type: ignore[arg-type]
    assert model["param"]["imputer_param"]["missing_replace_value"] == {"x0": -1.0}


@pytest.mark.unit
def test_missing_label_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["id", "y", "x0"], [["a", "1", "0"]])
    with pytest.raises(ComponentError, match=r"no label column 'label' \(label_name\)"):
        _read_and_transform(path, tmp_path, with_label=True, label_name="label")


@pytest.mark.unit
def test_missing_impute_and_outliers(tmp_path: Path) -> None:
    rows = [["a", "1", "-999", "5"], ["b", "0", "4", "100"], ["c", "1", "2", "7"]]
    path = write_csv(tmp_path / "t.csv", ["id", "y", "x0", "x1"], rows)
    result = _read_and_transform(
        path,
        tmp_path,
        with_label=True,
        missing_fill=True,
        missing_impute=[-999],
        missing_fill_method="mean",
        outlier_replace=True,
        outlier_impute=[100],
        outlier_replace_method="max",
    )
    table = load_table(result.data["data"])
    assert table.features.tolist() == [[3.0, 5.0], [4.0, 7.0], [2.0, 7.0]]
    assert result.metrics["outliers_replaced"] == 1


@pytest.mark.unit
@pytest.mark.parametrize(
    ("module", "params", "fragment"),
    [
        ("HeteroPoisson", {"optimizer": "sqn"}, "'sqn' is not supported for HeteroPoisson"),
        ("HeteroLR", {"keygen": "plain"}, "keygen: Extra inputs"),
        ("Intersection", {"intersect_method": "raw"}, "reveals hashes of ids"),
        ("DataTransform", {"data_type": "str"}, "string columns are not supported"),
        ("Evaluation", {"eval_type": "clustering"}, "clustering"),
    ],
)
def test_unsupported_fate_params_are_refused(
    tmp_path: Path, module: str, params: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ComponentError, match=f"invalid {module} parameters") as info:
        run_task(module, "guest", 9999, local_context(), params, {}, tmp_path)
    assert fragment in str(info.value)


@pytest.mark.unit
def test_run_task_checks_module_role_and_context(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match="unknown module 'HeteroSecureBoost'"):
        run_task("HeteroSecureBoost", "guest", 9999, local_context(), {}, {}, tmp_path)
    with pytest.raises(ComponentError, match="does not run at the arbiter"):
        run_task("Reader", "arbiter", 10001, local_context("arbiter", 10001), READER, {}, tmp_path)
    with pytest.raises(ComponentError, match="context is guest 9999's"):
        run_task("Reader", "host", 10000, local_context(), READER, {}, tmp_path)
    with pytest.raises(ComponentError, match="needs input 'table'"):
        run_task("Reader", "guest", 9999, local_context(), READER, {}, tmp_path)
    assert set(REGISTRY) == {
        "Reader",
        "DataTransform",
        "DataIO",
        "Intersection",
        "HeteroDataSplit",
        "Union",
        "FederatedSample",
        "SampleWeight",
        "HeteroFeatureBinning",
        "DataStatistics",
        "HeteroPearson",
        "HeteroFeatureSelection",
        "FeatureImputation",
        "FeatureScale",
        "OneHotEncoder",
        "LabelTransform",
        "ColumnExpand",
        "HeteroLR",
        "HeteroLinR",
        "HeteroPoisson",
        "Scorecard",
        "PSI",
        "Evaluation",
    }


@pytest.mark.unit
def test_evaluation_of_prediction_tables(tmp_path: Path) -> None:
    labels = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    scores = np.array([0.1, 0.6, 0.4, 0.8, 0.9])
    table = Table(list("abcde"), ["predict_result", "predict_score"], np.c_[scores > 0.5, scores])
    table.labels = labels
    path = save_table(tmp_path / "p.npz", table, {"producer": "lr_0", "type": "train"})
    inputs = {"data": InputArtifact("data", path), "data_1": InputArtifact("data", path)}
    binary = run_task(
        "Evaluation", "guest", 9999, local_context(), {"metrics": ["AUC", "acc"]}, inputs, tmp_path
    )
    assert binary.metrics["lr_0"]["train"] == {
        "count": 5,
        "positives": 3,
        "auc": pytest.approx(5 / 6),
        "accuracy": pytest.approx(0.6),
    }
    flipped = run_task(
        "Evaluation", "guest", 9999, local_context(), {"pos_label": 0}, inputs, tmp_path
    )
    assert flipped.metrics["lr_0"]["train"]["auc"] == pytest.approx(5 / 6)
    regression = run_task(
        "Evaluation",
        "guest",
        9999,
        local_context(),
        {"eval_type": "regression", "metrics": ["rmse", "r2"]},
        inputs,
        tmp_path,
    )
    assert set(regression.metrics["lr_0"]["train"]) == {
        "count",
        "root_mean_squared_error",
        "r2_score",
    }
    host = run_task("Evaluation", "host", 10000, local_context("host", 10000), {}, {}, tmp_path)
    assert host == TaskResult()


@pytest.mark.unit
def test_table_artifacts_round_trip_without_pickle(tmp_path: Path) -> None:
    table = Table(["a", "bé"], ["x0"], np.array([[1.5], [np.nan]]), np.array([1.0, 0.0]))
    path = save_table(tmp_path / "t.npz", table, {"k": [1, 2]})
    loaded, meta = load_table_with_meta(path)
    assert loaded.ids == ["a", "bé"] and loaded.header == ["x0"] and meta == {"k": [1, 2]}
    np.testing.assert_array_equal(loaded.features, table.features)
    np.testing.assert_array_equal(loaded.labels, table.labels)

    evil = tmp_path / "evil.npz"
    np.savez(evil, ids=np.array([object()], dtype=object), header=np.array(["x"]))
    with pytest.raises(ComponentError, match="not a fedloom data table"):
        load_table(evil)
