"""``fedloom model ...`` and ``fedloom job output``: the registry, deploy, export/import, and
downloading a component's data output as CSV."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.cli.client import FlowClient

Target = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_model_commands(sub: Any, with_target: Target) -> None:
    """Add ``model list|deploy|export|import`` to the CLI's subcommands."""
    model = sub.add_parser("model", help="list / deploy / export / import models")
    actions = model.add_subparsers(dest="action", required=True)
    listing = with_target(actions.add_parser("list", help="this site's models"))
    listing.add_argument("--model-id", help="only this model id")
    deploy = with_target(actions.add_parser("deploy", help="deploy a model at every party"))
    deploy.add_argument("--model-id", required=True)
    deploy.add_argument("--model-version", required=True)
    deploy.add_argument("--cpn-list", help="components to deploy, comma-separated")
    deploy.add_argument("--predict-dsl", help="a predict DSL file instead of --cpn-list")
    export = with_target(actions.add_parser("export", help="this party's part as a zip file"))
    export.add_argument("--model-id", required=True)
    export.add_argument("--model-version", required=True)
    export.add_argument("--output", "-o", required=True, help="the zip file to write")
    load = with_target(actions.add_parser("import", help="register a file made by export"))
    load.add_argument("file")


def add_output_command(actions: Any, with_target: Target) -> None:
    """Add ``job output JOB COMPONENT --csv FILE`` to the job subcommands."""
    output = with_target(actions.add_parser("output", help="a component's data output as CSV"))
    output.add_argument("job_id")
    output.add_argument("component")
    output.add_argument("--csv", required=True, help="file to write, or - for standard output")
    output.add_argument("--role", help="the role, when this party plays several")


def run_model_command(client: FlowClient, args: argparse.Namespace) -> Any:
    """Run one ``model`` action; returns what to print."""
    if args.action == "list":
        return client.models(args.model_id)
    if args.action == "deploy":
        cpn_list = [c.strip() for c in args.cpn_list.split(",")] if args.cpn_list else None
        dsl = json.loads(Path(args.predict_dsl).read_text()) if args.predict_dsl else None
        return client.deploy(args.model_id, args.model_version, cpn_list, dsl)
    if args.action == "export":
        data = client.export_model(args.model_id, args.model_version)
        Path(args.output).write_bytes(data)
        return {"file": args.output, "bytes": len(data)}
    return client.import_model(Path(args.file))


def run_output_command(client: FlowClient, args: argparse.Namespace) -> Any:
    """Write a component's data output as CSV; returns what to print (nothing for stdout)."""
    if args.csv == "-":
        for chunk in client.download_csv(args.job_id, args.component, args.role):
            sys.stdout.write(chunk)
        return None
    rows = 0
    with Path(args.csv).open("w", encoding="utf-8", newline="") as handle:
        for chunk in client.download_csv(args.job_id, args.component, args.role):
            handle.write(chunk)
            rows += chunk.count("\n")
    return {"file": args.csv, "rows": max(rows - 1, 0)}
