#!/usr/bin/env bash
# make compose-e2e: the three-party docker-compose deployment, end to end, on a machine without
# registry access. Starts a Docker daemon if none runs, builds every image locally (Debian
# bookworm base from debootstrap, cached; PostgreSQL/Redis from Debian packages; the fedloom
# image), generates secrets if missing, `docker-compose up -d`, waits until every container is
# healthy, checks the network isolation, runs examples/hetero_lr over REST (success and
# AUC > MIN_AUC), and always tears down with `docker-compose down -v`, then checks that no
# container, network or volume of the project is left.
#
# Environment: COMPOSE_PROJECT_NAME (fedloom-e2e), MIN_AUC (0.95), HEALTH_TIMEOUT_S (300),
# PY (.venv/bin/python), DOCKERD_ARGS (flags for a daemon this script starts),
# KEEP_DOCKERD=1 (leave a daemon this script started running).
set -euo pipefail
cd "$(dirname "$0")/../.."

export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-fedloom-e2e}"
export FEDLOOM_IMAGE="${FEDLOOM_IMAGE:-fedloom:local}"
export FEDLOOM_BASE_IMAGE="${FEDLOOM_BASE_IMAGE:-fedloom-base:bookworm}"
PY="${PY:-.venv/bin/python}"
MIN_AUC="${MIN_AUC:-0.95}"
compose=(docker-compose -f docker-compose.yml -f deploy/compose/local.override.yml)
label="label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"
work="$(mktemp -d /tmp/fedloom-e2e.XXXXXX)"
dockerd_pid=""
started_at="$(date +%s)"

log() { printf '[e2e %4ss] %s\n' "$(($(date +%s) - started_at))" "$*"; }

leftovers() {
  {
    docker ps -aq --filter "$label"
    docker network ls -q --filter "$label"
    docker volume ls -q --filter "$label"
  } | wc -l
}

cleanup() {
  local rc=$?
  set +e
  if [ "$rc" != 0 ] && docker info >/dev/null 2>&1; then
    log "FAILED (exit $rc): container states and recent logs"
    "${compose[@]}" ps
    "${compose[@]}" logs --no-color --tail=40 2>&1 | tail -200
  fi
  if docker info >/dev/null 2>&1; then
    log "docker-compose down -v"
    "${compose[@]}" down -v --remove-orphans --timeout 20 >"$work/down.log" 2>&1 || cat "$work/down.log"
    local left
    left="$(leftovers)"
    if [ "$left" != 0 ]; then
      log "LEFT BEHIND: $left containers/networks/volumes of project $COMPOSE_PROJECT_NAME"
      docker ps -a --filter "$label"; docker network ls --filter "$label"; docker volume ls --filter "$label"
      rc=1
    else
      log "clean: no containers, networks or volumes of project $COMPOSE_PROJECT_NAME remain"
    fi
  fi
  if [ -n "$dockerd_pid" ] && [ "${KEEP_DOCKERD:-0}" != 1 ]; then
    log "stopping the Docker daemon this script started (pid $dockerd_pid)"
    kill "$dockerd_pid" 2>/dev/null
    wait "$dockerd_pid" 2>/dev/null
  fi
  rm -rf "$work"
  log "wall time $(($(date +%s) - started_at)) s, exit $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_docker() {
  if docker info >/dev/null 2>&1; then
    return
  fi
  command -v dockerd >/dev/null || { echo "no Docker daemon and no dockerd (apt-get install docker.io)" >&2; exit 1; }
  local driver
  for driver in overlay2 vfs; do
    log "starting dockerd (storage driver $driver)"
    # shellcheck disable=SC2086  # DOCKERD_ARGS is a list of flags
    dockerd ${DOCKERD_ARGS:---iptables=false --bridge=none} --storage-driver="$driver" >"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 60); do
      docker info >/dev/null 2>&1 && return
      kill -0 "$dockerd_pid" 2>/dev/null || break
      sleep 1
    done
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
    dockerd_pid=""
  done
  tail -20 "$work/dockerd.log" >&2
  exit 1
}

wait_healthy() {
  local deadline=$(($(date +%s) + ${HEALTH_TIMEOUT_S:-300})) ids states pending
  while :; do
    ids="$("${compose[@]}" ps -q)"
    states="$(echo "$ids" | xargs -r docker inspect -f \
      '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}')"
    pending="$(echo "$states" | grep -v ' healthy$' || true)"
    if [ "$(echo "$ids" | grep -c .)" = 15 ] && [ -z "$pending" ]; then
      return
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "not healthy after ${HEALTH_TIMEOUT_S:-300} s: $pending"
      return 1
    fi
    sleep 3
  done
}

check_isolation() {
  # Only the proxies join the federation network ...
  local network="${COMPOSE_PROJECT_NAME}_federation" members
  members="$(docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' "$network" | xargs -n1 | sort | xargs)"
  if [ "$members" != "${COMPOSE_PROJECT_NAME}_arbiter-proxy_1 ${COMPOSE_PROJECT_NAME}_guest-proxy_1 ${COMPOSE_PROJECT_NAME}_host-proxy_1" ]; then
    log "federation network members: $members (expected the three proxies only)"
    return 1
  fi
  # ... and from there, party 10000's proxy reaches guest's public listener, not its
  # site-local one, and cannot resolve guest's other services.
  "${compose[@]}" exec -T host-proxy python - <<'PY'
import socket

def connects(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=3).close()
        return True
    except OSError:
        return False

assert connects("guest-proxy", 9371), "guest's public listener is unreachable from a peer"
assert not connects("guest-proxy", 9370), "guest's site-local listener is reachable from a peer"
try:
    socket.gethostbyname("guest-flow")
    raise AssertionError("guest-flow resolves on the federation network")
except OSError:
    pass
print("isolation: only proxies on the federation network; peers reach port 9371 only")
PY
}

[ -x "$PY" ] || { echo "$PY not found: run make install" >&2; exit 1; }
command -v docker-compose >/dev/null || { echo "docker-compose not found (apt-get install docker-compose)" >&2; exit 1; }
ensure_docker
log "Docker $(docker version -f '{{.Server.Version}}'), project $COMPOSE_PROJECT_NAME"
if [ "$(leftovers)" != 0 ]; then
  log "removing leftovers of an earlier run"
  "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
fi

"$PY" deploy/compose/gen_secrets.py
deploy/compose/build-base.sh "$FEDLOOM_BASE_IMAGE"
ca_bundle="${PIP_CERT:-${SSL_CERT_FILE:-}}"
if [ -n "$ca_bundle" ] && [ -s "$ca_bundle" ]; then  # pip behind a TLS-intercepting proxy
  cmp -s "$ca_bundle" deploy/docker/build-ca/bundle.pem || cp "$ca_bundle" deploy/docker/build-ca/bundle.pem
fi
log "building images (log: docker-compose build)"
"${compose[@]}" build --force-rm >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }

log "docker-compose up -d"
"${compose[@]}" up -d
wait_healthy
log "all 15 containers healthy"
check_isolation

log "running examples/hetero_lr over REST (AUC must exceed $MIN_AUC)"
"$PY" deploy/compose/demo.py --min-auc "$MIN_AUC" | tee "$work/demo.json"
log "demo passed"
