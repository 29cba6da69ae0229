# shellcheck shell=bash
# Shared by tools/images/*.sh (sourced; ROOT is the repository root).
#   PODMAN             podman binary (default podman)
#   PULSE_PODMAN_CONF  containers.conf used when CONTAINERS_CONF is unset: default tools/images/containers.conf
#                      (runc, bounded ulimits); `none` keeps podman's own configuration
#   PODMAN_STORAGE_DRIVER  e.g. vfs where overlay is not available
PODMAN="${PODMAN:-podman}"
command -v "$PODMAN" >/dev/null || { echo "images: $PODMAN not found (apt-get install podman)" >&2; exit 1; }
if [[ -z "${CONTAINERS_CONF:-}" && "${PULSE_PODMAN_CONF:-}" != none ]]; then
  export CONTAINERS_CONF="${PULSE_PODMAN_CONF:-$ROOT/tools/images/containers.conf}"
fi
# podman's helper processes run elsewhere: the path must be absolute
[[ -n "${CONTAINERS_CONF:-}" && "$CONTAINERS_CONF" != /* ]] && export CONTAINERS_CONF="$PWD/$CONTAINERS_CONF"
PODMAN_CMD=("$PODMAN")
[[ -n "${PODMAN_STORAGE_DRIVER:-}" ]] && PODMAN_CMD+=(--storage-driver "$PODMAN_STORAGE_DRIVER")
BASE_IMAGE_NAME="${BASE_IMAGE_NAME:-localhost/pulse-node-base:24-bookworm}"
# Every service has an image (tools/services/services.mjs is the one list of them).
# shellcheck disable=SC2034 # used by the scripts that source this file
read -ra APPS <<<"$(node "$ROOT/tools/services/services.mjs" names)"
