#!/usr/bin/env bash
# Analytics bench: each analytics job on local Spark (a Spark Connect server of its own) beside the same
# computation in DuckDB, over a generated lake; prints one JSON line. See tools/bench/analytics/README.md.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_check_node
bench_check_stack postgres
bench_ensure_build analytics "$BENCH_REPO/dist/apps/analytics/main.js" \
  apps/analytics/src apps/analytics/project.json apps/analytics/webpack.config.js apps/analytics/tsconfig.app.json \
  libs/platform/src libs/contracts/src proto tsconfig.base.json package-lock.json
cd "$BENCH_REPO"
bench_run_ts tools/bench/analytics/run.ts "$@"
