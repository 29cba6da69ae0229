#!/usr/bin/env bash
# Embeds deploy/helm/values/<service>.yaml in deploy/helm/platform/values.yaml, under `<service>:` with
# `enabled: true`, below the marker line; the part above the marker (global values, docs) is kept as written.
#   tools/deploy/sync-platform-values.sh          rewrite the platform values
#   tools/deploy/sync-platform-values.sh --check  exit 1 when they are not in line with deploy/helm/values/
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="$root/deploy/helm/platform/values.yaml"
marker='# ---- Below: generated from deploy/helm/values/<service>.yaml by tools/deploy/sync-platform-values.sh; edit those files. ----'
services=(ingest cdc etl etl-aggregates storage feature-store recommender)

render() {
  if grep -qxF "$marker" "$target"; then
    sed "/^$(printf '%s' "$marker" | sed 's/[][\/.*^$]/\\&/g')\$/,\$d" "$target"
  else
    cat "$target"
  fi
  printf '%s\n' "$marker"
  for s in "${services[@]}"; do
    local src="$root/deploy/helm/values/$s.yaml"
    [[ -f $src ]] || { echo "sync-platform-values: missing $src" >&2; exit 1; }
    printf '\n%s:\n  enabled: true\n' "$s"
    # Indent every non-empty line by two spaces, keeping comments and blank lines.
    sed -e 's/^\(.\)/  \1/' "$src"
  done
}

out="$(render)"
if [[ ${1:-} == --check ]]; then
  if ! diff -u "$target" <(printf '%s\n' "$out") >&2; then
    echo "sync-platform-values: deploy/helm/platform/values.yaml is out of date: run tools/deploy/sync-platform-values.sh" >&2
    exit 1
  fi
else
  printf '%s\n' "$out" > "$target"
fi
