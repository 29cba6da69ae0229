#!/usr/bin/env bash
# Builds the image of one deployable, or of all, with podman from deploy/images/Containerfile on the local base
# image (tools/images/base.sh, built first when missing):
#
#   tools/images/build.sh ingest          # -> localhost/pulse/ingest:<git short sha>
#   tools/images/build.sh all
#
# Environment:
#   TAG             image tag (default: git short sha)
#   IMAGE_PREFIX    repository prefix (default localhost/pulse)
#   BASE_IMAGE      base of both stages (default localhost/pulse-node-base:24-bookworm; the Containerfile's own
#                   default is docker.io/library/node:24-bookworm-slim)
#   BUILD_NETWORK   network of the RUN steps (default host: npm ci needs the npm registry)
#   BUILD_CA_BUNDLE PEM bundle npm trusts inside the build (build secret npm_ca; default: $NODE_EXTRA_CA_CERTS,
#                   for hosts behind a TLS-intercepting proxy)
#   BUILD_ARGS      extra `podman build` arguments, e.g. "--no-cache"
# plus those of tools/images/lib.sh (PODMAN, PULSE_PODMAN_CONF, PODMAN_STORAGE_DRIVER).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tools/images/lib.sh
source "$ROOT/tools/images/lib.sh"

usage() { echo "usage: $0 <${APPS[*]// /|}|all>" >&2; exit 2; }
[[ $# == 1 ]] || usage
if [[ $1 == all ]]; then targets=("${APPS[@]}"); else targets=("$1"); fi
for app in "${targets[@]}"; do
  [[ -f "$ROOT/apps/$app/project.json" && -f "$ROOT/deploy/helm/values/$app.yaml" ]] || { echo "build: unknown app $app" >&2; usage; }
done

BASE_IMAGE="${BASE_IMAGE:-$BASE_IMAGE_NAME}"
if [[ "$BASE_IMAGE" == "$BASE_IMAGE_NAME" ]]; then "$ROOT/tools/images/base.sh"; fi

cd "$ROOT"
REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
TAG="${TAG:-$(git rev-parse --short HEAD 2>/dev/null || echo dev)}"
IMAGE_PREFIX="${IMAGE_PREFIX:-localhost/pulse}"
VERSION="$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' package.json | head -1)+${TAG}"
CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
CA_BUNDLE="${BUILD_CA_BUNDLE:-${NODE_EXTRA_CA_CERTS:-}}"
secret=()
[[ -n "$CA_BUNDLE" && -s "$CA_BUNDLE" ]] && secret=(--secret "id=npm_ca,src=$CA_BUNDLE")
SOURCE="$(git config --get remote.origin.url 2>/dev/null || true)"

# containerPorts.grpc / containerPorts.http of the app's Helm values
port() { sed -n "/^containerPorts:/,/^[^ ]/s/^  $2: *\([0-9]*\).*/\1/p" "deploy/helm/values/$1.yaml" | head -1; }

for app in "${targets[@]}"; do
  image="$IMAGE_PREFIX/$app:$TAG"
  grpc="$(port "$app" grpc)"; http="$(port "$app" http)"
  echo "build: $image (base $BASE_IMAGE, ports $grpc/$http)"
  start=$SECONDS
  # shellcheck disable=SC2086
  "${PODMAN_CMD[@]}" build \
    --file deploy/images/Containerfile \
    --ignorefile deploy/images/Containerfile.dockerignore \
    --network "${BUILD_NETWORK:-host}" \
    "${secret[@]}" \
    --build-arg "APP=$app" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --build-arg "VERSION=$VERSION" \
    --build-arg "REVISION=$REVISION" \
    --build-arg "CREATED=$CREATED" \
    --build-arg "SOURCE=$SOURCE" \
    ${grpc:+--build-arg "GRPC_PORT=$grpc"} \
    ${http:+--build-arg "HTTP_PORT=$http"} \
    --tag "$image" \
    ${BUILD_ARGS:-} \
    .
  size="$("${PODMAN_CMD[@]}" image inspect --format '{{.Size}}' "$image")"
  echo "build: $image done in $((SECONDS - start))s, $((size / 1000000)) MB"
done
