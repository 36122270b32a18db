#!/usr/bin/env bash
# make k8s-validate: render every overlay with `kubectl kustomize` and validate it offline with
# kubernetes-validate --strict against a pinned Kubernetes version, then check fedloom's own
# invariants (check_manifests.py). No cluster needed.
#
# Environment: K8S_VERSION (schemas; default 1.31.0, shipped by kubernetes-validate 1.37),
# KUBECTL (kubectl), PY (.venv/bin/python), VALIDATE (.venv/bin/kubernetes-validate).
set -euo pipefail
cd "$(dirname "$0")/../.."

K8S_VERSION="${K8S_VERSION:-1.31.0}"
KUBECTL="${KUBECTL:-kubectl}"
PY="${PY:-.venv/bin/python}"
VALIDATE="${VALIDATE:-.venv/bin/kubernetes-validate}"
command -v "$KUBECTL" >/dev/null || { echo "kubectl not found (Debian: apt-get install kubernetes-client)" >&2; exit 1; }
[ -x "$VALIDATE" ] || { echo "$VALIDATE not found: make install (dev extras)" >&2; exit 1; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
overlays=(deploy/k8s/overlays/*/)
for overlay in "${overlays[@]}"; do
  name="$(basename "$overlay")"
  party="${name##*-}"
  rendered="$out/$name.yaml"
  if ! "$KUBECTL" kustomize "$overlay" >"$rendered" 2>"$out/$name.err"; then
    cat "$out/$name.err" >&2
    exit 1
  fi
  # kustomize v5 flags fields that kustomize v2 (Debian's kubectl 1.20) still needs: not errors.
  grep -v "is deprecated. Please use" "$out/$name.err" >&2 || true
  "$VALIDATE" --strict --kubernetes-version "$K8S_VERSION" --quiet "$rendered"
  "$PY" deploy/k8s/check_manifests.py "$rendered" "$party"
  echo "$name: $(grep -c '^kind:' "$rendered") resources valid (Kubernetes $K8S_VERSION, strict)"
done
echo "k8s-validate: ${#overlays[@]} overlays ok ($("$KUBECTL" version --client 2>/dev/null | head -1))"
