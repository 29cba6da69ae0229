#!/usr/bin/env bash
# Storage graph-import and read-latency bench; prints one JSON line. See tools/bench/README.md.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_check_node
bench_check_stack cassandra
bench_ensure_build storage "$BENCH_REPO/dist/apps/storage/main.js" \
  apps/storage/src apps/storage/migrations apps/storage/project.json apps/storage/webpack.config.js apps/storage/tsconfig.app.json \
  libs/platform/src libs/contracts/src proto tsconfig.base.json package-lock.json
cd "$BENCH_REPO"
bench_run_ts tools/bench/storage/run.ts "$@"
