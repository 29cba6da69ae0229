#!/usr/bin/env bash
# Point-in-time conformance of GetHistoricalFeatures beside Feast's get_historical_features; prints one JSON line.
# Needs the Feast venv that tools/bench/features/run.sh installs. See tools/bench/features/README.md.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_check_node
bench_check_stack redis postgres
bench_stack_env
[[ -n ${PG_URL:-} ]] || PG_URL=$(sed -n 's/^export PG_URL=//p' <<<"$("$BENCH_STACK" env)")
export PG_URL
bench_ensure_build feature-store "$BENCH_REPO/dist/apps/feature-store/main.js" \
  apps/feature-store/src apps/feature-store/migrations apps/feature-store/project.json apps/feature-store/webpack.config.js \
  apps/feature-store/tsconfig.app.json libs/platform/src libs/contracts/src libs/lake/src proto tsconfig.base.json package-lock.json
cd "$BENCH_REPO"
bench_run_ts tools/bench/features/pit-conformance.ts "$@"
