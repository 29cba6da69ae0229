#!/usr/bin/env bash
# Kafka producer comparison (Java ProducerPerformance vs kafkajs vs @platformatic/kafka); prints one
# JSON line. See tools/bench/README.md.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_check_node
bench_check_stack kafka
bench_stack_env
cd "$BENCH_REPO"
bench_run_ts tools/bench/kafka-clients/run.ts "$@"
