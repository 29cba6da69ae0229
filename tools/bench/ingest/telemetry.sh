#!/usr/bin/env bash
# What telemetry costs ingest: the ingest bench twice, with tracing and log shipping off, then on (every call traced
# and its spans exported over OTLP to the stack's Jaeger, every log line copied to pulse.logs.v1), each run against its
# own Kafka ProducerPerformance anchor. Prints both runs' JSON lines, then one line comparing their ratios to the anchor
# (goal: telemetry costs under 5 % of throughput). BENCH_TRACING_SAMPLE_RATIO (default 1) sets the share of traces
# recorded; other BENCH_* variables go to both runs. See tools/bench/README.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export BENCH_LOG_LEVEL="${BENCH_LOG_LEVEL:-info}"
off=$(TRACING_ENABLED=false LOG_SHIPPING_ENABLED=false "$here/run.sh" "$@")
on=$(TRACING_ENABLED=true TRACING_SAMPLE_RATIO="${BENCH_TRACING_SAMPLE_RATIO:-1}" LOG_SHIPPING_ENABLED=true "$here/run.sh" "$@")
printf '%s\n%s\n' "$off" "$on"
"$here/../../../node_modules/.bin/node" -e '
  const [off, on] = process.argv.slice(1).map((line) => JSON.parse(line));
  const cost = 1 - on.ratio_of_medians / off.ratio_of_medians;
  console.log(JSON.stringify({
    bench: "ingest-telemetry",
    sample_ratio: Number(process.env.BENCH_TRACING_SAMPLE_RATIO ?? 1),
    off: { events_per_s: off.pulse_events_per_s, ratio_of_medians: off.ratio_of_medians, anchor_records_per_s: off.anchor_records_per_s, noisy: off.noisy },
    on: { events_per_s: on.pulse_events_per_s, ratio_of_medians: on.ratio_of_medians, anchor_records_per_s: on.anchor_records_per_s, noisy: on.noisy },
    throughput_cost: Math.round(cost * 1000) / 1000,
    goal_cost: 0.05,
    goal_met: cost < 0.05,
  }));
' "$off" "$on"
