#!/usr/bin/env bash
# Freshness of the loop on a running platform (./pulse up): user actions → Recommend, new post → Recommend;
# one JSON line. See tools/bench/README.md (freshness).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_check_node
bench_check_stack kafka postgres redis cassandra
cd "$BENCH_REPO"
bench_run_ts tools/bench/freshness/run.ts "$@"
