#!/usr/bin/env bash
# Recommend's full loop path on the running platform (./pulse up) at offered rates; one JSON line.
# See tools/bench/recs-serve/README.md.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_check_node
bench_ensure_ghz
cd "$BENCH_REPO"
bench_run_ts tools/bench/recs-serve/loop.ts "$@"
