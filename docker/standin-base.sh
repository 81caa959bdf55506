#!/usr/bin/env bash
# Build (once per machine) a stand-in for the official LiteLLM image, for hosts that cannot reach
# ghcr.io, and print its tag on stdout. Pass that tag as LITELLM_IMAGE when building ../Dockerfile.
#
#   docker/standin-base.sh [current|legacy]   # → localhost/litellm-standin:1.108.5-current-<hash>
#
# current (the default): the official runtime stage as it ships today (non-root 65532,
# /app/docker-entrypoint.sh); legacy: the older root layout (docker/prod_entrypoint.sh).
# 1. debootstrap a minimal Debian trixie (Python 3.13) with python3 + python3-venv, import it;
# 2. build that target of standin-base/Dockerfile on it: litellm[proxy] in /app/.venv (no pip), the
#    layout. Both targets share the install stage, so the second one reuses its layers.
# The tag carries a hash of this script and standin-base/, so an edit rebuilds it and anything else
# reuses it. The root file system tarball is kept in $CACHE_DIR and its image stays tagged (the
# build cache of the shared stage hangs on it). Needs root (debootstrap) and podman (or docker:
# CONTAINER_ENGINE=docker). Progress goes to stderr.
set -euo pipefail

VARIANT=${1:-current}
case "$VARIANT" in
    current | legacy) ;;
    *) echo "standin-base: unknown layout '$VARIANT' (accepted: current, legacy)" >&2; exit 2 ;;
esac
LITELLM_VERSION=${LITELLM_VERSION:-1.108.5}
SUITE=trixie
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE_DIR=${SIGIL_CONTAINER_CACHE:-/var/tmp/sigil-litellm-containers}
ENGINE=${CONTAINER_ENGINE:-podman}
here=$(cd "$(dirname "$0")" && pwd)

PACKAGES=python3,python3-venv,ca-certificates
key=$( (cat "$0" "$here"/standin-base/*; echo "$LITELLM_VERSION") | sha256sum | cut -c1-12)
tag="localhost/litellm-standin:${LITELLM_VERSION}-${VARIANT}-${key}"
rootfs_key=$(echo "$SUITE $PACKAGES" | sha256sum | cut -c1-12)
rootfs_tag="localhost/sigil-debian-minbase:${SUITE}-${rootfs_key}"
log() { echo "standin-base: $*" >&2; }

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/standin-base.lock"
flock 9  # one builder at a time; the others then find the image

if "$ENGINE" image inspect "$tag" >/dev/null 2>&1; then
    log "reusing $tag"
    echo "$tag"
    exit 0
fi

start=$(date +%s)
tarball="$CACHE_DIR/rootfs-${SUITE}-${rootfs_key}.tar"
if [ ! -s "$tarball" ]; then
    rootfs=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap $SUITE from $MIRROR"
    debootstrap --variant=minbase --include="$PACKAGES" \
        "$SUITE" "$rootfs" "$MIRROR" >&2
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    rm -rf "$rootfs"
fi
if ! "$ENGINE" image inspect "$rootfs_tag" >/dev/null 2>&1; then
    log "importing the root file system as $rootfs_tag"
    "$ENGINE" import "$tarball" "$rootfs_tag" >&2
fi

# pip's CA bundle inside the build: BUILD_PIP_CERT, else the host's that docker/containers.conf mounts
build_args=(--build-arg "PIP_CERT=${BUILD_PIP_CERT:-}")
if [ -z "${BUILD_PIP_CERT:-}" ] && grep -qs /run/host-ca.crt "${CONTAINERS_CONF:-/dev/null}"; then
    build_args=(--build-arg PIP_CERT=/run/host-ca.crt)
fi
[ "$ENGINE" = podman ] && build_args+=(--format docker)
log "building $tag (litellm[proxy]==$LITELLM_VERSION, $VARIANT layout)"
"$ENGINE" build --build-arg "BASE=$rootfs_tag" --build-arg "LITELLM_VERSION=$LITELLM_VERSION" \
    "${build_args[@]}" --target "$VARIANT" -t "$tag" "$here/standin-base" >&2
log "built $tag in $(($(date +%s) - start))s"
echo "$tag"
