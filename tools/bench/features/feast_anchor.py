"""Feast's own feature server as the anchor of tools/bench/features: the same 50 features of the same
entities in the same Redis. `setup DIR PROJECT REDIS ENTITIES FEATURES` writes a Feast repo into DIR,
applies it and writes the online values with Feast's Redis writer; `teardown DIR` removes the project's
keys and registry. The load itself is sent by run.ts to `feast serve` (HTTP /get-online-features)."""
import os
import sys
from datetime import datetime, timedelta, timezone


def feature_names(count):
    return [f"f{i:02d}" for i in range(count)]


def write_repo(directory, project, redis):
    host, port = redis
    with open(os.path.join(directory, "feature_store.yaml"), "w") as f:
        f.write(
            f"""project: {project}
registry: {directory}/registry.db
provider: local
online_store:
  type: redis
  connection_string: "{host}:{port}"
offline_store:
  type: file
entity_key_serialization_version: 3
"""
        )


def definitions(directory, count):
    from feast import Entity, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64

    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.STRING)
    source = FileSource(path=os.path.join(directory, "source.parquet"), timestamp_field="event_timestamp")
    view = FeatureView(
        name="bench_user_50",
        entities=[user],
        ttl=timedelta(days=1),
        schema=[Field(name=n, dtype=Float64) for n in feature_names(count)],
        source=source,
        online=True,
    )
    return user, view


def setup(directory, project, redis_url, entities, count):
    import pandas as pd
    from feast import FeatureStore

    host_port = redis_url.split("//", 1)[-1].rstrip("/")
    host, port = host_port.split(":")
    write_repo(directory, project, (host, port))
    now = datetime.now(timezone.utc)
    names = feature_names(count)
    frame = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(entities)],
            "event_timestamp": [now - timedelta(minutes=1)] * entities,
            **{n: [float(i + j) for i in range(entities)] for j, n in enumerate(names)},
        }
    )
    frame.head(1).to_parquet(os.path.join(directory, "source.parquet"))
    store = FeatureStore(repo_path=directory)
    user, view = definitions(directory, count)
    store.apply([user, view])
    for start in range(0, entities, 1000):
        store.write_to_online_store("bench_user_50", frame.iloc[start : start + 1000])
    print("ok")


def teardown(directory):
    from feast import FeatureStore

    FeatureStore(repo_path=directory).teardown()
    print("ok")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "setup":
        setup(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif command == "teardown":
        teardown(sys.argv[2])
    else:
        sys.exit(f"unknown command {command}")
