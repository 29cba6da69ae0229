#!/usr/bin/env bash
# CDC bench: Pulse's cdc service vs Debezium's embedded engine + Kafka producer; prints one JSON line. See tools/bench/README.md.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=./common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bench_check_node
bench_check_stack kafka postgres
bench_stack_env
cdc_ensure_builds
cd "$BENCH_REPO"
bench_run_ts tools/bench/cdc/run.ts "$@"
