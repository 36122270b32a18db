"""``fedloom``: run a site or one service, manage local sites, upload tables, drive jobs."""

from __future__ import annotations

import argparse
import json
import os
import runpy
import signal
import sys
from pathlib import Path
from typing import Any

from services.cli.client import FlowClient, FlowError
from services.cli.models import (
    add_model_commands,
    add_output_command,
    run_model_command,
    run_output_command,
)

LOCAL_DIR = Path(".fedloom/local")


def _client(args: argparse.Namespace) -> FlowClient:
    url = args.url or os.environ.get("FEDLOOM_URL")
    token = args.token or os.environ.get("FEDLOOM_TOKEN")
    if args.site is not None:
        sites_file = Path(args.sites_file)
        if not sites_file.exists():
            raise SystemExit(f"{sites_file} not found: run `make local-up` or pass --url/--token")
        sites = json.loads(sites_file.read_text())
        if str(args.site) not in sites:
            raise SystemExit(f"party {args.site} is not in {sites_file} ({', '.join(sites)})")
        url, token = sites[str(args.site)]["rest"], sites[str(args.site)]["token"]
    if not url or not token:
        raise SystemExit("say which site: --site PARTY (local sites) or --url and --token")
    return FlowClient(url, token)


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _run_site(args: argparse.Namespace) -> int:
    from services.site import Site, SiteConfig

    site = Site(SiteConfig.model_validate_json(Path(args.config).read_text()))
    site.start()
    print(f"party {site.config.party_id} up: REST {site.config.flow_url}", flush=True)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    try:
        while not stop["now"] and all(p.poll() is None for p in site.processes.values()):
            signal.sigtimedwait([signal.SIGINT, signal.SIGTERM], 1.0)
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command in ("proxy", "flow", "executor"):
        sys.argv = [f"fedloom {command}"]  # the service reads its settings, not our arguments
        runpy.run_module(f"services.{command}", run_name="__main__")
        return 0
    if command == "site":
        return _run_site(args)
    if command == "local":
        from services.cli import local

        if args.action == "up":
            parties = [int(p) for p in args.parties.split(",")]
            sites = local.up(Path(args.dir), parties)
            _print({str(s.config.party_id): s.config.flow_url for s in sites})
        else:
            print(f"stopped {local.down(Path(args.dir))} processes")
        return 0
    if command == "demo":
        from services.cli.demo import run_demo

        return run_demo(Path(args.dir), timeout=args.timeout)
    client = _client(args)
    if command == "table":
        _print(
            client.upload_table(
                args.namespace, args.name, Path(args.file), args.label, _upload_options(args)
            )
        )
    elif command == "job":
        if args.action == "submit":
            dsl = json.loads(Path(args.dsl).read_text()) if args.dsl else None
            conf = json.loads(Path(args.conf).read_text())
            _print(client.submit_job(dsl, conf))
        elif args.action == "output":
            result = run_output_command(client, args)
            if result is not None:
                _print(result)
        elif args.action == "status":
            _print(client.job(args.job_id))
        elif args.action == "wait":
            status = client.wait(args.job_id, timeout=args.timeout)
            _print(status)
            return 0 if status.get("status") == "success" else 1
        elif args.action == "cancel":
            _print(client.cancel(args.job_id))
        else:
            _print(client.metrics(args.job_id, args.component))
    elif command == "model":
        _print(run_model_command(client, args))
    return 0


def _upload_options(args: argparse.Namespace) -> dict[str, str]:
    """The upload's query options from ``fedloom table upload``'s flags (FATE's names)."""
    options = {"head": args.head}
    for flag in ("extend_sid", "auto_increasing_sid"):
        if getattr(args, flag):
            options[flag] = "1"
    for name in ("id_delimiter", "id_column"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if args.with_meta or args.meta is not None:
        options["with_meta"] = "1"
    if args.meta is not None:
        options["meta"] = args.meta
    return options


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="fedloom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("proxy", "flow", "executor"):
        sub.add_parser(name, help=f"run this site's {name} (settings from FEDLOOM_* variables)")
    site = sub.add_parser("site", help="run proxy + flow (+ executors) of one site")
    site.add_argument("--config", required=True, help="site config JSON (services.site.SiteConfig)")
    local = sub.add_parser("local", help="several sites on this machine (loopback)")
    local.add_argument("action", choices=["up", "down"])
    local.add_argument("--dir", default=str(LOCAL_DIR))
    local.add_argument("--parties", default="9999,10000,10001")
    demo = sub.add_parser("demo", help="three local sites run the hetero LR example job")
    demo.add_argument("--dir", default=".fedloom/demo")
    demo.add_argument("--timeout", type=float, default=300.0)

    def with_target(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--site", type=int, help="party id of a local site (see --sites-file)")
        p.add_argument("--sites-file", default=str(LOCAL_DIR / "sites.json"))
        p.add_argument("--url", help="REST base URL of the site (or FEDLOOM_URL)")
        p.add_argument("--token", help="the site's bearer token (or FEDLOOM_TOKEN)")
        return p

    table = with_target(sub.add_parser("table", help="upload a CSV table"))
    table.add_argument("action", choices=["upload"])
    table.add_argument("namespace")
    table.add_argument("name")
    table.add_argument("file")
    table.add_argument("--label", help="label column (guest tables)")
    table.add_argument("--head", choices=["1", "0"], default="1", help="1: first line is a header")
    table.add_argument("--id-column", help="the id column of a dense table (default: first)")
    table.add_argument("--id-delimiter", help="splits the id from the rest (default ',')")
    table.add_argument(
        "--extend-sid", action="store_true", help="the file has no id: generate sample ids"
    )
    table.add_argument(
        "--auto-increasing-sid", action="store_true", help="with --extend-sid: ids 0, 1, 2, ..."
    )
    table.add_argument("--with-meta", action="store_true", help="read the format from --meta")
    table.add_argument(
        "--meta",
        help="FATE upload meta as JSON (implies --with-meta), e.g. "
        '\'{"input_format": "sparse", "delimiter": " ", "with_label": true}\'',
    )
    job = sub.add_parser("job", help="submit / status / wait / cancel / metrics")
    actions = job.add_subparsers(dest="action", required=True)
    submit = with_target(actions.add_parser("submit", help="submit a FATE DSL v2 job"))
    submit.add_argument("--dsl", help="the DSL file (none for a predict job)")
    submit.add_argument("--conf", required=True)
    for name, text in (("status", "show"), ("wait", "wait for"), ("cancel", "cancel")):
        one = with_target(actions.add_parser(name, help=f"{text} a job"))
        one.add_argument("job_id")
        if name == "wait":
            one.add_argument("--timeout", type=float, default=600.0)
    metrics = with_target(actions.add_parser("metrics", help="a component's metrics"))
    metrics.add_argument("job_id")
    metrics.add_argument("component")
    add_output_command(actions, with_target)
    add_model_commands(sub, with_target)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fedloom`` command."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except FlowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
