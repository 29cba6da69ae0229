import { APP_DB_USER_COLUMNS, type DebeziumEnvelope, ingestV1, recsV1, timestampToMillis } from '@pulse/contracts';
import {
  activityBronzeLayout,
  bronzeConfiguration,
  cdcBronzeLayout,
  type ColumnValue,
  type CreateTableOptions,
  recsServedBronzeLayout,
  utcDate,
} from '@pulse/lake';
import type { IncomingRecord } from '@pulse/platform';
import type { ActivityColumns } from './activity-columns';

/** How one source topic lands in its bronze Delta table: the table's shape and one row per record. */
export interface BronzeTable<K, V> {
  /** Table name, as in GetStatus. */
  name: string;
  /** Key of the table under the lake root. */
  path: string;
  create: CreateTableOptions;
  /** The row of a record, in `create.columns` order; null skips the record (a tombstone). */
  row(record: IncomingRecord<K, V>): ColumnValue[] | null;
  /** The users a record is about: a record naming an erased user is not written. */
  subjects(record: IncomingRecord<K, V>): (string | null | undefined)[];
  /** The record's unique id (its column `event_id`), for tables that keep one row per id (KeyDedupe). */
  uniqueKey?(record: IncomingRecord<K, V>): string | null;
}

const enumNames = new Map<Record<number, string>, Map<number, string>>();

/** Enum name without its prefix: ACTIVITY_TYPE_VIEW → VIEW (each name cut once, not per record). */
function enumName(names: Record<number, string>, value: number, prefix: string): string {
  let cut = enumNames.get(names);
  if (!cut) enumNames.set(names, (cut = new Map()));
  let name = cut.get(value);
  if (name === undefined) {
    name = names[value] ? names[value].slice(prefix.length) : String(value);
    if (cut.size < 1_000) cut.set(value, name);
  }
  return name;
}

/** VIEW, LIKE, … of an ActivityType. */
export function activityTypeName(type: ingestV1.ActivityType): string {
  return enumName(ingestV1.ActivityType, type, 'ACTIVITY_TYPE_');
}

/** POST, USER, COMMENT of a TargetType. */
export function targetTypeName(type: ingestV1.TargetType): string {
  return enumName(ingestV1.TargetType, type, 'TARGET_TYPE_');
}

/**
 * bronze/activity (its layout in @pulse/lake): every tracked event as accepted by ingest, flattened, partitioned
 * by the UTC date of `occurred_at` (the event time). One row per Kafka record; `event_id` is unique per accepted event.
 * Its records are read straight into their columns (`activityColumnsTopic`).
 */
export function activityBronzeTable(targetFileSize: number, checkpointInterval: number): BronzeTable<string, ActivityColumns> {
  const { path, create } = activityBronzeLayout(bronzeConfiguration(targetFileSize, checkpointInterval));
  return {
    name: 'activity_bronze',
    path,
    create,
    subjects: (record) => [record.value?.userId],
    uniqueKey: (record) => (record.value?.hasEvent && record.value.eventId) || null,
    row(record) {
      const e = record.value;
      if (!e?.hasEvent) return null;
      const occurred = e.occurredMs ?? record.timestampMs;
      return [
        e.eventId,
        e.userId,
        activityTypeName(e.type),
        e.targetType === null ? null : targetTypeName(e.targetType),
        e.targetId,
        occurred,
        e.receivedMs,
        e.sessionId || null,
        e.recommendationId || null,
        e.properties,
        e.platform === null ? null : enumName(ingestV1.Platform, e.platform, 'PLATFORM_'),
        e.appVersion || null,
        e.clientId || null,
        record.partition,
        record.offset,
        record.timestampMs,
        utcDate(occurred),
      ];
    },
  };
}

/** A served list's items as the lake keeps them (JSON of `[{"item_id","rank","score","sources"}]`), in order. */
export function servedItems(items: readonly recsV1.RecommendedItem[]) {
  return items.map((i) => ({
    item_id: i.itemId,
    rank: i.rank,
    score: i.score,
    sources: i.sources.map((s) => enumName(recsV1.CandidateSource, s, 'CANDIDATE_SOURCE_')),
  }));
}

/** Strategy name without its prefix: STRATEGY_PERSONALIZED → PERSONALIZED. */
export function strategyName(strategy: recsV1.Strategy): string {
  return enumName(recsV1.Strategy, strategy, 'STRATEGY_');
}

/**
 * bronze/recs_served (its layout in @pulse/lake): every recommendation list served (pulse.recs.served.v1), partitioned by the UTC date it
 * was served. One row per list; `items` holds its items in order as JSON (`[{"item_id","rank","score","sources"}]`)
 * so activity carrying the `recommendation_id` joins to what was shown, at which position, from which source.
 */
export function recsServedBronzeTable(
  targetFileSize: number,
  checkpointInterval: number,
): BronzeTable<string, recsV1.RecommendationServed> {
  const { path, create } = recsServedBronzeLayout(bronzeConfiguration(targetFileSize, checkpointInterval));
  return {
    name: 'recs_served_bronze',
    path,
    create,
    subjects: (record) => [record.value?.userId],
    row(record) {
      const v = record.value;
      if (!v) return null;
      const served = v.servedAt ? timestampToMillis(v.servedAt) : record.timestampMs;
      const items = servedItems(v.items);
      return [
        v.recommendationId,
        v.userId || null,
        v.seedItemId || null,
        v.modelVersion || null,
        strategyName(v.strategy),
        v.experimentId || null,
        v.variant || null,
        served,
        JSON.stringify(items),
        items.length,
        v.context,
        record.partition,
        record.offset,
        record.timestampMs,
        utcDate(served),
      ];
    },
  };
}

/**
 * bronze/cdc/<schema>.<table> (its layout in @pulse/lake): the change events of one app-database table, Debezium envelope kept as
 * JSON (before/after), partitioned by the UTC date of the change's commit (`source.ts_ms`).
 */
export function cdcBronzeTable(
  qualified: string,
  targetFileSize: number,
  checkpointInterval: number,
): BronzeTable<Record<string, unknown>, DebeziumEnvelope> {
  const { path, create } = cdcBronzeLayout(qualified, bronzeConfiguration(targetFileSize, checkpointInterval));
  return {
    name: create.name ?? path,
    path,
    create,
    subjects(record) {
      const columns = APP_DB_USER_COLUMNS[qualified.split('.').pop()!] ?? [];
      const rows = [record.key, record.value?.before, record.value?.after];
      return rows.flatMap((r) => columns.map((c) => (r?.[c] === undefined || r[c] === null ? null : String(r[c]))));
    },
    row(record) {
      const v = record.value;
      if (!v) return null; // tombstone: the delete before it carries the change
      const at = v.source?.ts_ms ?? v.ts_ms ?? record.timestampMs;
      return [
        record.key === null ? null : JSON.stringify(record.key),
        v.op,
        v.before === null || v.before === undefined ? null : JSON.stringify(v.before),
        v.after === null || v.after === undefined ? null : JSON.stringify(v.after),
        v.source?.ts_ms ?? null,
        v.source?.lsn ?? null,
        v.source?.txId ?? null,
        v.source?.snapshot ?? null,
        v.ts_ms ?? null,
        record.partition,
        record.offset,
        record.timestampMs,
        utcDate(at),
      ];
    },
  };
}
