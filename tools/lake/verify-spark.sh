#!/usr/bin/env bash
# Proves that Apache Spark with Delta Lake reads the Delta tables written by @pulse/lake: Spark (PySpark,
# local[2]) reads a table and tools/lake/spark_read.py prints what it sees as JSON: row count and distinct
# event ids, count per partition, a query filtered on the partition column (with partition pruning),
# data skipping on the file statistics, one row's values, time travel by version (before the OPTIMIZE) and by
# timestamp, DESCRIBE HISTORY with the OPTIMIZE's metrics, the checkpoints Spark built its snapshots from, the
# streaming application transaction, the schema.
#
#   tools/lake/verify-spark.sh              writes a sample table first (tools/lake/sample-table.ts) and
#                                           compares every figure with what the sample wrote
#   tools/lake/verify-spark.sh <table dir>  reads an existing local table (prints; checks only consistency)
#   tools/lake/verify-spark.sh --keep       keeps the sample table and prints where it is
#
# Exit status: 0 when Spark read everything as written, 1 on a mismatch, 2 when Spark failed to read the table
# (the message names the section, Spark's error and the log file involved).
# Installs on first use, cached under ~/.cache/pulse-tools (PULSE_TOOLS_CACHE): PySpark and delta-spark in the
# lake's venv (tools/lake/python-env.sh --spark, PyPI), the Delta jars in an Ivy cache (Maven Central); later
# runs need no network. Needs Java 17 (JAVA_HOME or java on PATH) and Node (node_modules/.bin).
# Environment: PULSE_SPARK_DRIVER_MEMORY (default 1g), PULSE_SPARK_JAVA_OPTIONS (driver JVM options).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE=${PULSE_TOOLS_CACHE:-$HOME/.cache/pulse-tools}
export PATH="$ROOT/node_modules/.bin:$PATH"
export PULSE_SPARK_IVY="$CACHE/spark-ivy"
# Classic local Spark in this process: a Spark Connect address from `tools/stack/stack env` would switch PySpark to it.
unset SPARK_REMOTE
export TZ=UTC
log() { printf '[verify-spark] %s\n' "$*" >&2; }
die() { printf '[verify-spark] error: %s\n' "$*" >&2; exit 2; }

keep=0
table=""
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) die "unknown option $arg" ;;
    *) [[ -z $table ]] || die "one table at a time"; table="$arg" ;;
  esac
done

start=$SECONDS

# Java: Spark 3.5 runs on 8, 11 and 17.
if [[ -z ${JAVA_HOME:-} ]]; then
  java=$(command -v java) || die "Java 17 is required (set JAVA_HOME or put java on PATH)"
  JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$java")")")
  export JAVA_HOME
fi
java_version=$("$JAVA_HOME/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
case "$java_version" in
  8|11|17) ;;
  *) die "Spark 3.5 needs Java 8, 11 or 17; $JAVA_HOME has Java ${java_version:-?}" ;;
esac

python=$("$ROOT/tools/lake/python-env.sh" --spark)
mkdir -p "$PULSE_SPARK_IVY"

work=$(mktemp -d "${TMPDIR:-/tmp}/pulse-verify-spark.XXXXXX")
cleanup() {
  if [[ $keep == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

args=()
if [[ -z $table ]]; then
  table="$work/lake/activity"
  log "writing the sample table $table with @pulse/lake"
  runner=(ts-node --transpile-only)
  if [[ -d $ROOT/node_modules/tsconfig-paths ]]; then runner+=(-r tsconfig-paths/register); fi
  (cd "$ROOT" && TS_NODE_PROJECT="$ROOT/tsconfig.base.json" "${runner[@]}" tools/lake/sample-table.ts "$table") >"$work/expected.json" ||
    die "the sample table could not be written"
  args+=(--expected "$work/expected.json")
else
  [[ -d $table/_delta_log ]] || die "$table is not a Delta table (no _delta_log)"
  table=$(cd "$table" && pwd)
fi

log "reading $table with Spark (local[2], driver memory ${PULSE_SPARK_DRIVER_MEMORY:-1g}); Spark's log: $work/spark.log"
set +e
"$python" "$ROOT/tools/lake/spark_read.py" "$table" "${args[@]}" >"$work/spark.json" 2>"$work/spark.log"
status=$?
set -e
cat "$work/spark.json"
if [[ $status != 0 ]]; then
  keep=1
  log "Spark's log ends with:"
  grep -v '^\s*$' "$work/spark.log" | tail -n 40 >&2
  if [[ $status == 1 ]]; then log "FAILED: Spark read the table differently from what was written (above)"
  else log "FAILED: Spark could not read $table (above)"; fi
  exit "$status"
fi
log "OK: Spark $("$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["spark"], "with Delta", d["delta_spark"] + ":", d["checks"]["passed"], "checks passed")' "$work/spark.json") in $((SECONDS - start)) s"
