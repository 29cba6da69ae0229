"""Prints every row of a Delta table's latest version as read by delta-rs, one JSON object per line.

usage: delta_rs_rows.py <table uri> [--version N]
For checks of what a reader of the table sees (the erasure tests scan it for a user).
"""
import argparse
import json

from deltalake import DeltaTable, QueryBuilder

parser = argparse.ArgumentParser()
parser.add_argument("uri")
parser.add_argument("--version", type=int)
args = parser.parse_args()

table = DeltaTable(args.uri, version=args.version)
result = QueryBuilder().register("t", table).execute("SELECT * FROM t").read_all()
names = result.column_names
columns = [result.column(name).to_pylist() for name in names]
for values in zip(*columns):
    print(json.dumps(dict(zip(names, values)), default=str))
