#!/usr/bin/env bash
# Ingest throughput bench; prints one JSON line. See tools/bench/README.md.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_check_node
bench_check_stack kafka redis
bench_stack_env
bench_ensure_build ingest "$BENCH_REPO/dist/apps/ingest/main.js" \
  apps/ingest/src apps/ingest/project.json apps/ingest/webpack.config.js apps/ingest/tsconfig.app.json \
  libs/platform/src libs/contracts/src proto tsconfig.base.json package-lock.json
cd "$BENCH_REPO"
bench_run_ts tools/bench/ingest/run.ts "$@"
