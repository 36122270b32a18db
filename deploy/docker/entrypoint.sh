#!/usr/bin/env bash
# Entrypoint of the fedloom image: `proxy`, `flow` or `executor` runs that service in the
# foreground as this process (signals reach it directly); anything else goes to the `fedloom`
# command (e.g. `table upload ...`, `job status ...`, `--help`).
set -euo pipefail

case "${1:-}" in
  proxy | flow | executor)
    service="$1"
    shift
    exec python -m "services.$service" "$@"
    ;;
  *)
    exec fedloom "$@"
    ;;
esac
