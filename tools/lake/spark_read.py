"""Reads a Delta table with Apache Spark + Delta Lake (local mode) and prints what Spark sees, as JSON.

usage: spark_read.py <table dir> [--expected FILE] [--app-id ID ...]

With --expected (the JSON printed by tools/lake/sample-table.ts) every figure is compared with what
the writer wrote; the exit status is 1 on a mismatch, 2 when Spark fails to read the table.
Environment: PULSE_SPARK_IVY (Ivy cache for the Delta jars), PULSE_SPARK_DRIVER_MEMORY (default 1g),
PULSE_SPARK_JAVA_OPTIONS (the driver JVM's options; default C1 only and the serial GC).
"""
import argparse
import datetime
import json
import os
import re
import sys
import time
import traceback
from importlib.metadata import version as package_version

parser = argparse.ArgumentParser()
parser.add_argument("table")
parser.add_argument("--expected")
parser.add_argument("--app-id", action="append", default=[])
args = parser.parse_args()
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ["TZ"] = "UTC"  # PySpark turns timestamps into Python datetimes in the process's zone
time.tzset()

table = os.path.abspath(args.table)
expected = None
if args.expected:
    with open(args.expected) as f:
        expected = json.load(f)
app_ids = args.app_id or (list(expected["txn"].keys()) if expected else [])

# The JVM and Ivy write to the process's stdout: keep it for the JSON and send theirs to stderr.
sys.stdout.flush()
json_out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

from delta import configure_spark_with_delta_pip  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

started = time.time()
builder = (
    SparkSession.builder.master("local[2]")
    .appName("pulse-verify-spark")
    .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
    .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
    .config("spark.driver.memory", os.environ.get("PULSE_SPARK_DRIVER_MEMORY", "1g"))
    # A short job on a small machine: the C1 compiler and the serial collector halve the run and its CPU.
    .config("spark.driver.extraJavaOptions", os.environ.get("PULSE_SPARK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"))
    .config("spark.jars.ivy", os.environ.get("PULSE_SPARK_IVY", os.path.expanduser("~/.cache/pulse-tools/spark-ivy")))
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false")
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.sql.shuffle.partitions", "2")
    .config("spark.databricks.delta.snapshotPartitions", "2")
)
spark = configure_spark_with_delta_pip(builder).getOrCreate()
spark.sparkContext.setLogLevel("WARN")
session_seconds = round(time.time() - started, 1)

ident = "delta.`" + table.replace("`", "``") + "`"
out = {
    "spark": spark.version,
    "delta_spark": package_version("delta-spark"),
    "java": spark.sparkContext._jvm.java.lang.System.getProperty("java.version"),
    "table": table,
}
mismatches = []
errors = []
checks = 0


def expect(what, actual, wanted):
    global checks
    checks += 1
    if actual != wanted:
        mismatches.append(f"{what}: Spark read {json.dumps(actual, default=str)}, expected {json.dumps(wanted, default=str)}")


def section(name):
    """Runs one part of the reading; a Spark failure is recorded with its message and the rest goes on."""

    def wrap(fn):
        try:
            fn()
        except Exception as error:  # noqa: BLE001 - Spark raises Py4J and analysis errors alike
            message = str(error)
            java = getattr(error, "java_exception", None)
            if java is not None:
                message = java.toString()
                cause = java.getCause()
                while cause is not None:
                    message += "\n  caused by: " + cause.toString()
                    cause = cause.getCause()
            # Spark puts executors' stack traces into its messages: keep the messages.
            message = "\n".join(line for line in message.splitlines() if not re.match(r"\s+(at |\.\.\. \d+ more)", line))
            files = sorted(set(re.findall(r"(?:file:)?(/[^\s,;'\"\]\)]+\.(?:json|parquet|crc)|/[^\s,;'\"\]\)]*_last_checkpoint)", message)))
            errors.append({"section": name, "error": message[:4000], "files": files})
            print(f"[spark-read] {name} failed:\n{traceback.format_exc(limit=2)}", file=sys.stderr)
        return fn

    return wrap


def reader(**options):
    r = spark.read.format("delta")
    for k, v in options.items():
        r = r.option(k, v)
    return r.load(table)


state = {}


@section("describe detail")
def _detail():
    d = spark.sql(f"DESCRIBE DETAIL {ident}").collect()[0].asDict()
    state["partition_columns"] = list(d["partitionColumns"])
    out["detail"] = {
        "format": d["format"],
        "num_files": d["numFiles"],
        "size_in_bytes": d["sizeInBytes"],
        "partition_columns": list(d["partitionColumns"]),
        "min_reader_version": d["minReaderVersion"],
        "min_writer_version": d["minWriterVersion"],
        "properties": dict(d["properties"] or {}),
    }
    if expected:
        expect("partition columns", out["detail"]["partition_columns"], expected["partition_columns"])
        expect("number of data files", out["detail"]["num_files"], expected["files"])
        expect("protocol", [d["minReaderVersion"], d["minWriterVersion"]], [1, 2])


@section("schema")
def _schema():
    schema = reader().schema
    out["schema"] = [{"name": f.name, "type": f.dataType.simpleString(), "spark_type": type(f.dataType).__name__, "nullable": f.nullable} for f in schema.fields]
    if expected:
        spark_types = {"string": "string", "long": "bigint", "integer": "int", "double": "double", "boolean": "boolean",
                       "timestamp": "timestamp", "date": "date", "map<string,string>": "map<string,string>"}
        expect("schema", [(c["name"], c["type"], c["nullable"]) for c in out["schema"]],
               [(c["name"], spark_types[c["type"]], c["nullable"]) for c in expected["columns"]])
        classes = {c["name"]: c["spark_type"] for c in out["schema"]}
        wanted = {"timestamp": "TimestampType", "map<string,string>": "MapType", "date": "DateType"}
        for c in expected["columns"]:
            if c["type"] in wanted:
                expect(f"Spark type of {c['name']}", classes.get(c["name"]), wanted[c["type"]])


@section("latest version")
def _latest():
    df = reader()
    names = df.columns
    row = df.agg(F.count(F.lit(1)).alias("rows"), *([F.countDistinct("event_id").alias("ids")] if "event_id" in names else [])).collect()[0]
    out["rows"] = row["rows"]
    out["distinct_event_ids"] = row["ids"] if "event_id" in names else None
    if expected:
        expect("row count", out["rows"], expected["rows"])
        expect("distinct event ids", out["distinct_event_ids"], expected["distinct_event_ids"])


@section("count per partition")
def _partitions():
    parts = state.get("partition_columns") or []
    if not parts:
        return
    column = parts[0]
    rows = spark.sql(f"SELECT `{column}` AS k, count(*) AS n FROM {ident} GROUP BY 1 ORDER BY 1").collect()
    state["partitions"] = [(r["k"], r["n"]) for r in rows]
    out["per_partition"] = {str(r["k"]): r["n"] for r in rows}
    if expected:
        expect("rows per partition", out["per_partition"], expected["per_partition"])


@section("partition filter")
def _partition_filter():
    parts = state.get("partition_columns") or []
    if not parts or not state.get("partitions"):
        return
    column = parts[0]
    value, rows = state["partitions"][len(state["partitions"]) // 2]
    df = reader().where(F.col(column) == F.lit(value))
    plan = df._jdf.queryExecution().executedPlan().toString()
    pruned = re.search(r"PartitionFilters: \[[^\]]*" + re.escape(column), plan) is not None
    result = df.agg(F.count(F.lit(1)).alias("n"), F.countDistinct(F.col(column)).alias("values")).collect()[0]
    out["partition_filter"] = {"where": f"{column} = {value}", "rows": result["n"], "partition_values": result["values"],
                               "partition_pruning": pruned, "input_files": len(df.inputFiles())}
    expect(f"rows where {column} = {value} (against GROUP BY)", result["n"], rows)
    expect(f"partition values where {column} = {value}", result["values"], 1)
    expect(f"partition pruning of {column} = {value} in Spark's plan", pruned, True)
    if expected:
        expect(f"rows where {column} = {value}", result["n"], expected["per_partition"][str(value)])


@section("data skipping on file statistics")
def _stats():
    if not expected:
        return
    # Delta skips files by the min/max of their add.stats: wrong statistics lose rows here.
    n = expected["rows"]
    low, high = n // 3, n // 3 + 19
    by_offset = reader().where(F.col("kafka_offset").between(low, high)).count()
    probe_id = f"evt-{n // 2 + 3:06d}"
    by_id = reader().where(F.col("event_id") == probe_id).count()
    no_user = reader().where(F.col("user_id").isNull()).count()
    out["data_skipping"] = {f"kafka_offset BETWEEN {low} AND {high}": by_offset, f"event_id = '{probe_id}'": by_id, "user_id IS NULL": no_user}
    expect(f"rows with kafka_offset between {low} and {high}", by_offset, 20)
    expect(f"rows with event_id = {probe_id}", by_id, 1)
    expect("rows without a user_id", no_user, len([o for o in range(n) if o % 7 == 0]))


@section("row values")
def _probe():
    if not expected:
        return
    probe = expected["probe"]
    df = reader().where(F.col("event_id") == probe["event_id"]).select(
        "event_id", "user_id", "event_type",
        F.date_format("occurred_at", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX").alias("occurred_at"),
        "kafka_offset", "duration_ms", "score", "is_bot", "properties",
        F.date_format("event_date", "yyyy-MM-dd").alias("event_date"))
    rows = [r.asDict() for r in df.collect()]
    got = rows[0] if len(rows) == 1 else rows
    if isinstance(got, dict):
        got["occurred_at"] = got["occurred_at"].replace("+00:00", "Z") if got["occurred_at"] else None
    out["probe_row"] = got
    expect(f"row {probe['event_id']}", got, probe)


@section("describe history")
def _history():
    rows = spark.sql(f"DESCRIBE HISTORY {ident}").select("version", "timestamp", "operation", "operationMetrics").collect()
    rows = sorted(rows, key=lambda h: h["version"])
    state["history"] = rows
    out["version"] = rows[-1]["version"]
    out["history"] = [{"version": h["version"], "operation": h["operation"]} for h in rows]
    optimize = [h for h in rows if h["operation"] == "OPTIMIZE"]
    if optimize:
        out["optimize"] = {"version": optimize[-1]["version"], "operationMetrics": dict(optimize[-1]["operationMetrics"] or {})}
    if expected:
        expect("latest version", out["version"], expected["version"])
        expect("history (version, operation)", out["history"], expected["history"])
        expect("OPTIMIZE in history", out.get("optimize"), expected["optimize"])


@section("time travel by version")
def _version_as_of():
    history = state.get("history") or []
    if expected:
        v = expected["before_compaction"]["version"]
    else:
        optimizes = [h["version"] for h in history if h["operation"] == "OPTIMIZE"]
        v = (max(optimizes) if optimizes else max(h["version"] for h in history) if history else 0) - 1
        if v < 0:
            return
    df = reader(versionAsOf=v)
    out["version_as_of"] = {"version": v, "rows": df.count(), "files": len(df.inputFiles())}
    parts = state.get("partition_columns") or []
    if parts:
        grouped = df.groupBy(parts[0]).count().orderBy(parts[0]).collect()
        out["version_as_of"]["per_partition"] = {str(r[0]): r["count"] for r in grouped}
    if expected:
        expect(f"rows per partition at version {v}", out["version_as_of"].get("per_partition"), expected["per_partition_at"][str(v)])
        expect(f"rows at version {v} (before OPTIMIZE)", out["version_as_of"]["rows"], expected["before_compaction"]["rows"])
        expect(f"data files at version {v} (before OPTIMIZE)", out["version_as_of"]["files"], expected["before_compaction"]["files"])
        for version in sorted({1, expected["checkpoints"][0] if expected["checkpoints"] else 1, expected["optimize"]["version"]}):
            rows = reader(versionAsOf=version).count()
            out.setdefault("rows_at", {})[str(version)] = rows
            expect(f"rows at version {version}", rows, expected["rows_at"][str(version)])


@section("time travel by timestamp")
def _timestamp_as_of():
    history = state.get("history")
    if not history or len(history) < 3:
        return
    target = history[3] if len(history) > 3 else history[-1]
    ts = target["timestamp"].strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = reader(timestampAsOf=ts).count()
    out["timestamp_as_of"] = {"timestamp": ts, "commit_version": target["version"], "rows": rows}
    expect(f"rows as of {ts} UTC against rows at version {target['version']}", rows, reader(versionAsOf=target["version"]).count())
    if expected:
        expect(f"rows as of the timestamp of version {target['version']} ({ts} UTC)", rows, expected["rows_at"][str(target["version"])])
        # Spark dates commits by their log file's modification time; the writer's commitInfo.timestamp is
        # taken just before it writes the file, so the two agree to a few milliseconds on a local disk.
        skew = max(abs(round(h["timestamp"].replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
                       - expected["commit_timestamps"][str(h["version"])]) for h in history)
        out["timestamp_as_of"]["max_skew_ms_log_file_vs_commit_info"] = skew
        expect("commit times within 5 s of the writer's commitInfo.timestamp", skew < 5000, True)


@section("delta log")
def _delta_log():
    # Not in Spark SQL: which checkpoint Spark's snapshot was built from (Spark falls back to an older
    # checkpoint, or to the JSON commits, when it cannot use one, with no more than a warning in its log),
    # and the table's SetTransaction actions (what a streaming writer's txnAppId/txnVersion are checked
    # against). Read from Delta's DeltaLog in the JVM.
    jvm = spark.sparkContext._jvm
    log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, table)
    snapshot = log.unsafeVolatileSnapshot()
    none = jvm.scala.Option.empty()

    def segment(snap):
        seg = snap.logSegment()
        deltas = [seg.deltas().apply(i).getPath().getName() for i in range(seg.deltas().size())]
        return {"version": snap.version(), "checkpoint": seg.checkpointProvider().version(), "commits_after_checkpoint": len(deltas)}

    out["log_segments"] = [segment(snapshot)]
    last_checkpoint = None
    try:
        with open(os.path.join(table, "_delta_log", "_last_checkpoint")) as f:
            last_checkpoint = json.load(f)["version"]
    except FileNotFoundError:
        pass
    expect(f"checkpoint Spark built version {snapshot.version()} from (_last_checkpoint names {last_checkpoint})",
           out["log_segments"][0]["checkpoint"], last_checkpoint if last_checkpoint is not None else -1)
    if expected:
        for v in sorted({expected["before_compaction"]["version"], expected["checkpoints"][0] if expected["checkpoints"] else 0}):
            seg = segment(log.getSnapshotAt(v, none, none))
            out["log_segments"].append(seg)
            wanted = max([c for c in expected["checkpoints"] if c <= v], default=-1)
            expect(f"checkpoint Spark built version {v} from", seg["checkpoint"], wanted)

    if app_ids:
        transactions = snapshot.transactions()
        out["txn"] = {}
        for app in app_ids:
            found = transactions.get(app)
            out["txn"][app] = found.get() if found.isDefined() else None
        out["txn_source"] = "Delta snapshot in the JVM (Spark SQL does not expose txn)"
        if expected:
            expect("application transaction versions", out["txn"], expected["txn"])


out["checks"] = {"passed": checks - len(mismatches), "failed": len(mismatches)}
out["mismatches"] = mismatches
out["errors"] = errors
out["seconds"] = {"spark_session": session_seconds, "total": round(time.time() - started, 1)}
json_out.write(json.dumps(out, indent=2, default=str) + "\n")
json_out.flush()
spark.stop()
if errors:
    print(f"[spark-read] Spark failed to read {table}:", file=sys.stderr)
    for e in errors:
        print(f"  {e['section']}: {e['error'].splitlines()[0]}", file=sys.stderr)
        for f in e["files"]:
            print(f"    file: {f}", file=sys.stderr)
    sys.exit(2)
if mismatches:
    print(f"[spark-read] {len(mismatches)} mismatch(es) between Spark and the writer:", file=sys.stderr)
    for m in mismatches:
        print(f"  {m}", file=sys.stderr)
    sys.exit(1)
