"""Reads a Delta table with delta-rs and prints what a user of it would check, as JSON.

usage: delta_rs_read.py <table uri> [--version N] [--txn APP_ID ...] [--group-by COLUMN]
S3 tables take the AWS_* environment (AWS_ENDPOINT_URL, AWS_ALLOW_HTTP, credentials).
"""
import argparse
import json
import os

from deltalake import DeltaTable, QueryBuilder

parser = argparse.ArgumentParser()
parser.add_argument("uri")
parser.add_argument("--version", type=int)
parser.add_argument("--txn", action="append", default=[])
parser.add_argument("--group-by")
args = parser.parse_args()

options = {}
if args.uri.startswith("s3://"):
    options = {k: v for k, v in {
        "AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL"),
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY"),
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "AWS_ALLOW_HTTP": "true",
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
        "AWS_FORCE_PATH_STYLE": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items() if v is not None}

table = DeltaTable(args.uri, version=args.version, storage_options=options or None)
qb = QueryBuilder().register("t", table)


def rows(sql):
    result = qb.execute(sql).read_all()
    names = result.column_names
    columns = [result.column(name).to_pylist() for name in names]
    return [dict(zip(names, values)) for values in zip(*columns)]


count = rows("SELECT count(*) AS n FROM t")[0]["n"]
distinct_ids = None
schema_names = [f.name for f in table.schema().fields]
if "event_id" in schema_names:
    distinct_ids = rows("SELECT count(DISTINCT event_id) AS n FROM t")[0]["n"]
groups = None
if args.group_by:
    grouped = rows(f'SELECT CAST("{args.group_by}" AS VARCHAR) AS k, count(*) AS n FROM t GROUP BY 1 ORDER BY 1')
    groups = {r["k"]: r["n"] for r in grouped}
history = table.history()
print(json.dumps({
    "version": table.version(),
    "rows": count,
    "distinct_event_ids": distinct_ids,
    "files": len(table.file_uris()),
    "partition_columns": table.metadata().partition_columns,
    "columns": schema_names,
    "protocol": [table.protocol().min_reader_version, table.protocol().min_writer_version],
    "txn": {app: table.transaction_version(app) for app in args.txn},
    "groups": groups,
    "history": [{"version": h.get("version"), "operation": h.get("operation")} for h in history],
}))
