"""Invariants of a rendered overlay that schema validation cannot see (``make k8s-validate``).

``python deploy/k8s/check_manifests.py RENDERED.yaml PARTY_ID`` exits 1 naming every violation:

- the namespace is ``fedloom-<party>`` and ``FEDLOOM_PARTY_ID`` is the party;
- the route table names other parties only, at their public proxy port 9371;
- every container has resource requests and limits and liveness and readiness probes, and
  every pod runs as non-root;
- ingress from outside the namespace is admitted to the proxy's public port 9371 only, behind
  a default-deny policy;
- Secrets hold placeholders only (real secrets are never committed).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs in the dev extras

PUBLIC_PORT = 9371


def _pods(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"])
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet")
    ]


def check(docs: list[dict[str, Any]], party: int) -> list[str]:
    """Every violated invariant, as a message naming the resource."""
    errors: list[str] = []
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
        namespace = doc["metadata"].get("namespace", doc["metadata"]["name"])
        if namespace != f"fedloom-{party}":
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: namespace {namespace}")
    configs = {c["metadata"]["name"].rsplit("-", 1)[0]: c for c in by_kind.get("ConfigMap", [])}
    if configs["fedloom-config"]["data"].get("FEDLOOM_PARTY_ID") != str(party):
        errors.append(f"fedloom-config: FEDLOOM_PARTY_ID is not {party}")
    routes = json.loads(configs["fedloom-routes"]["data"]["routes.json"])
    if not routes or str(party) in routes:
        errors.append(f"routes.json must name the peers, not party {party}: {routes}")
    for peer, address in routes.items():
        if not address.endswith(f":{PUBLIC_PORT}"):
            errors.append(f"routes.json: party {peer} at {address}, not a public port")
    for name, pod in _pods(docs):
        security = pod.get("securityContext", {})
        if not security.get("runAsNonRoot"):
            errors.append(f"{name}: pod does not set runAsNonRoot")
        for container in pod["containers"]:
            where = f"{name} container {container['name']}"
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(part, {})):
                    errors.append(f"{where}: no cpu/memory {part}")
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in container:
                    errors.append(f"{where}: no {probe}")
    policies = by_kind.get("NetworkPolicy", [])
    if not any(p["spec"]["podSelector"] == {} and not p["spec"].get("ingress") for p in policies):
        errors.append("no default-deny ingress NetworkPolicy")
    for policy in policies:
        component = (
            policy["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component")
        )
        for rule in policy["spec"].get("ingress", []):
            open_to_all = not rule.get("from") or any(
                "ipBlock" in peer or "namespaceSelector" in peer for peer in rule["from"]
            )
            ports = {p.get("port") for p in rule.get("ports", [])}
            if open_to_all and (component != "proxy" or ports != {PUBLIC_PORT}):
                errors.append(
                    f"NetworkPolicy/{policy['metadata']['name']}: admits traffic from outside "
                    f"the namespace to {component} ports {sorted(map(str, ports)) or 'all'}"
                )
    for secret in by_kind.get("Secret", []):
        for key, value in secret.get("data", {}).items():
            if b"REPLACE-ME" not in base64.b64decode(value):
                errors.append(f"Secret/{secret['metadata']['name']}: {key} is not a placeholder")
    return errors


def main(argv: list[str]) -> int:
    """Check one rendered overlay; the exit status."""
    if len(argv) != 2:
        print("usage: check_manifests.py RENDERED.yaml PARTY_ID", file=sys.stderr)
        return 2
    docs = [d for d in yaml.safe_load_all(Path(argv[0]).read_text()) if d]
    errors = check(docs, int(argv[1]))
    for error in errors:
        print(f"{argv[0]}: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
