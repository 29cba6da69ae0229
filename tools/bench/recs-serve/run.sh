#!/usr/bin/env bash
# Recommender serving bench: Recommend top-10 under concurrent load (ghz) beside Health/Check on the same
# server; one JSON line. See tools/bench/recs-serve/README.md.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_check_node
bench_ensure_build recommender "$BENCH_REPO/dist/apps/recommender/main.js" \
  apps/recommender/src apps/recommender/project.json apps/recommender/webpack.config.js apps/recommender/tsconfig.app.json \
  libs/platform/src libs/contracts/src proto tsconfig.base.json package-lock.json
bench_ensure_ghz
cd "$BENCH_REPO"
bench_run_ts tools/bench/recs-serve/run.ts "$@"
