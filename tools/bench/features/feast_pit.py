"""The point-in-time conformance check's Feast side (see pit-conformance.ts): writes a hand-built timeline
(two feature views, one with a created timestamp tie and a 1 h ttl, one without ttl) and an entity frame as
Parquet into DIR, then runs Feast's own get_historical_features on them (file offline store) and writes its
training set to DIR/feast.parquet."""
import os
import sys
from datetime import timedelta

import pandas as pd


def main(directory):
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Int64, String

    t = lambda s: pd.Timestamp(f"2026-11-20 {s}", tz="UTC")
    pd.DataFrame(
        [
            ("u1", t("10:00:00"), t("10:00:00"), 1),
            ("u1", t("10:30:00"), t("10:31:00"), 2),
            ("u1", t("10:30:00"), t("10:45:00"), 3),
            ("u2", t("09:00:00"), t("09:00:00"), 10),
            ("u1", t("11:00:00"), t("11:00:00"), 4),
            ("u4", t("07:00:00"), t("07:00:00"), 40),
        ],
        columns=["user_id", "event_timestamp", "created", "clicks"],
    ).to_parquet(os.path.join(directory, "clicks.parquet"))
    pd.DataFrame(
        [("u1", t("08:00:00"), "de"), ("u1", t("10:35:00"), "fr"), ("u2", pd.Timestamp("2026-01-01", tz="UTC"), "us")],
        columns=["user_id", "ts", "country"],
    ).to_parquet(os.path.join(directory, "country.parquet"))
    rows = [
        ("u1", "09:59:00"), ("u1", "10:00:00"), ("u1", "10:40:00"), ("u1", "10:59:59"), ("u1", "11:00:00"),
        ("u2", "09:30:00"), ("u2", "10:00:00"), ("u2", "10:00:01"), ("u3", "10:00:00"), ("u1", "10:40:00"),
        ("u4", "07:30:00"), ("u4", "08:30:00"),
    ]
    entities = pd.DataFrame([(u, t(s), i) for i, (u, s) in enumerate(rows)], columns=["user_id", "event_timestamp", "label"])
    entities.to_parquet(os.path.join(directory, "entities.parquet"))

    with open(os.path.join(directory, "feature_store.yaml"), "w") as f:
        f.write(
            f"""project: pit
registry: {directory}/registry.db
provider: local
online_store: {{type: sqlite, path: {directory}/online.db}}
offline_store: {{type: file}}
entity_key_serialization_version: 3
"""
        )
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.STRING)
    clicks = FeatureView(
        name="user_clicks", entities=[user], ttl=timedelta(hours=1), schema=[Field(name="clicks", dtype=Int64)],
        source=FileSource(path=os.path.join(directory, "clicks.parquet"), timestamp_field="event_timestamp", created_timestamp_column="created"),
    )
    country = FeatureView(
        name="user_country", entities=[user], ttl=timedelta(0), schema=[Field(name="country", dtype=String)],
        source=FileSource(path=os.path.join(directory, "country.parquet"), timestamp_field="ts"),
    )
    store = FeatureStore(repo_path=directory)
    store.apply([user, clicks, country])
    out = store.get_historical_features(entity_df=entities, features=["user_clicks:clicks", "user_country:country"]).to_df()
    out[["label", "clicks", "country"]].astype({"clicks": "Int64"}).to_parquet(os.path.join(directory, "feast.parquet"))
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1])
