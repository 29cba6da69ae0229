#!/usr/bin/env bash
# Feature store online-serving bench; prints one JSON line. See tools/bench/README.md.
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
bench_ensure_ghz
cd "$BENCH_REPO"
bench_run_ts tools/bench/features/run.ts "$@"
