#!/usr/bin/env bash
# Writes what the platform chart takes from the service list (tools/services/services.mjs): its Chart.yaml
# dependencies, the releases of its values schema, its @param lines, and each release's values embedded in
# deploy/helm/platform/values.yaml from deploy/helm/values/<release>.yaml (see tools/deploy/sync-platform.mjs).
#   tools/deploy/sync-platform-values.sh          rewrite them
#   tools/deploy/sync-platform-values.sh --check  exit 1 when one is out of date
set -euo pipefail
exec node "$(dirname "${BASH_SOURCE[0]}")/sync-platform.mjs" "$@"
