#!/usr/bin/env bash
# Build a Debian bookworm base image from Debian packages only (no registry needed):
# debootstrap a minimal rootfs with python3 + python3-venv and `docker import` it.
# The image is cached: nothing happens when it exists already (FORCE=1 rebuilds it).
#
#   deploy/compose/build-base.sh [IMAGE]     (default fedloom-base:bookworm)
#
# Needs root, debootstrap and a reachable Debian mirror (MIRROR, default deb.debian.org).
set -euo pipefail

image="${1:-fedloom-base:bookworm}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
packages="python3,python3-venv,ca-certificates"

if [ "${FORCE:-0}" != 1 ] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "base image $image exists (FORCE=1 rebuilds it)"
  exit 0
fi
command -v debootstrap >/dev/null || {
  echo "debootstrap not found: apt-get install -y debootstrap" >&2
  exit 1
}

rootfs="$(mktemp -d /tmp/fedloom-rootfs.XXXXXX)"
cleanup() { rm -rf "$rootfs"; }
trap cleanup EXIT

echo "debootstrap bookworm ($packages) from $mirror ..."
debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  tail -30 "$rootfs.log" >&2
  exit 1
}
rm -f "$rootfs.log"
# Slim the image: package lists and caches are refetched by whoever needs them.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
echo "deb $mirror bookworm main" >"$rootfs/etc/apt/sources.list"

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$image" >/dev/null
echo "built base image $image"
