#!/usr/bin/env bash
# Guards v1: the contracts must stay wire- and source-compatible with those on main.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
base="${BUF_BREAKING_AGAINST:-main}"
if ! git rev-parse --verify --quiet "$base" >/dev/null || ! git cat-file -e "$base:proto/buf.yaml" 2>/dev/null; then
  echo "buf breaking: no proto/ on '$base' to compare against; skipped"
  exit 0
fi
cd proto
../node_modules/.bin/buf breaking --against "../.git#ref=${base},subdir=proto"
echo "buf breaking: no breaking change against ${base}"
