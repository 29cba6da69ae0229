#!/usr/bin/env bash
# ETL bench: Kafka → committed Delta vs DuckDB's COPY to zstd Parquet, and window-aggregate latency;
# prints one JSON line. See tools/bench/README.md.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_check_node
bench_check_stack kafka
bench_stack_env
bench_ensure_build etl "$BENCH_REPO/dist/apps/etl/main.js" \
  apps/etl/src apps/etl/project.json apps/etl/webpack.config.js apps/etl/tsconfig.app.json \
  libs/lake/src libs/platform/src libs/contracts/src proto tsconfig.base.json package-lock.json
cd "$BENCH_REPO"
bench_run_ts tools/bench/etl/run.ts "$@"
