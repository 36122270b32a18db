"""The ``fedloom`` command: local sites up and down, tables and jobs through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_support import example_job

from fedloom.data.examples import make_breast_split
from services.cli import local
from services.cli.main import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_local_sites_and_a_job_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "local"
    sites = local.up(base, [9999, 10000, 10001])
    try:
        sites_file = json.loads((base / "sites.json").read_text())
        assert set(sites_file) == {"9999", "10000", "10001"}
        assert all(set(v) == {"rest", "token"} for v in sites_file.values())
        target = ["--site", "9999", "--sites-file", str(base / "sites.json")]
        guest_csv, host_csv = make_breast_split(tmp_path / "data")
        assert (
            main(
                [
                    "table",
                    "upload",
                    *target,
                    "experiment",
                    "breast_hetero_guest",
                    str(guest_csv),
                    "--label",
                    "y",
                ]
            )
            == 0
        )
        assert json.loads(capsys.readouterr().out)["rows"] > 400
        host = ["--site", "10000", "--sites-file", str(base / "sites.json")]
        assert (
            main(["table", "upload", *host, "experiment", "breast_hetero_host", str(host_csv)]) == 0
        )
        capsys.readouterr()
        dsl, conf = example_job(max_iter=2, key_length=2048)
        conf["component_parameters"]["common"]["intersection_0"]["rsa_params"]["key_length"] = 2048
        (tmp_path / "dsl.json").write_text(json.dumps(dsl))
        (tmp_path / "conf.json").write_text(json.dumps(conf))
        assert (
            main(
                [
                    "job",
                    "submit",
                    *target,
                    "--dsl",
                    str(tmp_path / "dsl.json"),
                    "--conf",
                    str(tmp_path / "conf.json"),
                ]
            )
            == 0
        )
        job_id = json.loads(capsys.readouterr().out)["job_id"]
        assert main(["job", "wait", *target, job_id, "--timeout", "240"]) == 0
        assert json.loads(capsys.readouterr().out)["status"] == "success"
        assert main(["job", "metrics", *target, job_id, "evaluation_0"]) == 0
        assert "auc" in capsys.readouterr().out
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"components": {}}))
        assert main(["job", "submit", *target, "--dsl", str(bad), "--conf", str(bad)]) == 2
        assert "422" in capsys.readouterr().err
    finally:
        assert local.down(base) == sum(len(s.processes) for s in sites)
    assert not (base / "pids.json").exists()
    assert local.down(base) == 0


def test_cli_usage_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["job", "status", "--url", "http://127.0.0.1:9", "--token", "x"])
    assert "job_id" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["job", "submit", "--url", "http://127.0.0.1:9", "--token", "x"])
    assert "--dsl" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="not found"):
        main(["job", "status", "j", "--site", "9999", "--sites-file", str(tmp_path / "no.json")])
    with pytest.raises(SystemExit, match="--site PARTY"):
        main(["job", "status", "j"])


def test_service_subcommands_hand_over_to_the_service(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDLOOM_")}
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "executor"],
        env={**env, "FEDLOOM_PARTY_ID": "9999"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "REDIS_URL" in done.stderr and "unrecognized arguments" not in done.stderr


def test_local_sites_take_settings_from_their_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FEDLOOM_MIN_KEY_LENGTH", "3072")
    base = tmp_path / "local"
    local.up(base, [9999, 10000, 10001])
    try:
        target = ["--site", "10000", "--sites-file", str(base / "sites.json")]
        guest_csv, host_csv = make_breast_split(tmp_path / "data")
        assert (
            main(["table", "upload", *target, "experiment", "breast_hetero_host", str(host_csv)])
            == 0
        )
        target[1] = "9999"
        upload = ["table", "upload", *target, "experiment", "breast_hetero_guest", str(guest_csv)]
        assert main([*upload, "--label", "y"]) == 0
        capsys.readouterr()
        dsl, conf = example_job(max_iter=2, key_length=2048)
        (tmp_path / "dsl.json").write_text(json.dumps(dsl))
        (tmp_path / "conf.json").write_text(json.dumps(conf))
        files = ["--dsl", str(tmp_path / "dsl.json"), "--conf", str(tmp_path / "conf.json")]
        assert main(["job", "submit", *target, *files]) == 2
        error = capsys.readouterr().err
        assert "422" in error and "hetero_lr_0.encrypt_param.key_length" in error
        assert "3072-bit minimum of party 9999" in error
    finally:
        local.down(base)
