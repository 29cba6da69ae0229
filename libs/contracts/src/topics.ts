import { bytesCodec, jsonCodec, protoCodec, utf8Codec } from './codecs';
import { Heartbeat, SchemaChange } from './gen/pulse/cdc/v1';
import { LateEvent, WindowAggregate } from './gen/pulse/etl/v1';
import { ActivityRejected, ActivityTracked } from './gen/pulse/ingest/v1';
import { SubjectErased } from './gen/pulse/privacy/v1';
import { ModelPromoted, RecommendationServed } from './gen/pulse/recs/v1';
import { DAY_MS, defineTopic, TopicDefinition } from './topic-definition';

/**
 * Append-only topics roll a segment a day: retention deletes whole closed segments, so a record is gone at most
 * `retention.ms` + `segment.ms` after it was written (docs/privacy.md states the figure per topic).
 */
const SEGMENT_MS = String(DAY_MS);

/**
 * Compacted topics that hold a user's rows by key: a segment a day and a compaction lag of at most a day, so the
 * older records of a key are compacted away within about two days of its tombstone (given writes to the topic),
 * and the tombstone itself a day later (`delete.retention.ms`).
 */
export const COMPACTED_USER_DATA_CONFIG: Readonly<Record<string, string>> = {
  'segment.ms': String(DAY_MS),
  'max.compaction.lag.ms': String(DAY_MS),
  'delete.retention.ms': String(DAY_MS),
};

/**
 * The one registry of Kafka topics. Every producer and consumer in Pulse names a topic through this
 * object, never by string, so key/value codecs, partitions and retention are declared once.
 */
export const Topics = {
  activityTracked: defineTopic({
    name: 'pulse.activity.tracked.v1',
    description: 'Every accepted user activity, written by ingest; key = user_id, so one user stays in order.',
    partitions: 12,
    // min.insync.replicas comes from the creating service's KAFKA_MIN_INSYNC_REPLICAS (2 with RF 3 in a cluster).
    config: { 'retention.ms': String(7 * DAY_MS), 'segment.ms': SEGMENT_MS, 'cleanup.policy': 'delete' },
    key: utf8Codec,
    value: protoCodec(ActivityTracked, 'pulse.ingest.v1.ActivityTracked'),
  }),
  activityRejected: defineTopic({
    name: 'pulse.activity.rejected.v1',
    description: 'Dead letters of ingest: each rejected event with its reason; key = event_id.',
    partitions: 3,
    // Three days: long enough to debug a tracker over a weekend, short for data that may hold personal fields.
    config: { 'retention.ms': String(3 * DAY_MS), 'segment.ms': SEGMENT_MS, 'cleanup.policy': 'delete' },
    key: utf8Codec,
    value: protoCodec(ActivityRejected, 'pulse.ingest.v1.ActivityRejected'),
  }),
  activityLate: defineTopic({
    name: 'pulse.activity.late.v1',
    description: 'Tracked events that arrived after their window closed, written by etl with the reason; key = user_id.',
    partitions: 3,
    // No longer than the tracked events they come from.
    config: { 'retention.ms': String(7 * DAY_MS), 'segment.ms': SEGMENT_MS, 'cleanup.policy': 'delete' },
    key: utf8Codec,
    value: protoCodec(LateEvent, 'pulse.etl.v1.LateEvent'),
  }),
  cdcSchemaChanges: defineTopic({
    name: 'pulse.cdc.schema_changes.v1',
    description: 'A captured table appeared or changed shape, before its first row of the new shape; key = schema.table.',
    // One partition: the history of table shapes is read in order. Kept forever, like a schema history topic.
    partitions: 1,
    config: { 'cleanup.policy': 'delete', 'retention.ms': '-1' },
    key: utf8Codec,
    value: protoCodec(SchemaChange, 'pulse.cdc.v1.SchemaChange'),
  }),
  cdcHeartbeat: defineTopic({
    name: 'pulse.cdc.heartbeat.v1',
    description: 'Periodic heartbeat of the cdc connector once it went through the replication slot; key = connector name.',
    partitions: 1,
    config: { 'cleanup.policy': 'delete', 'retention.ms': String(DAY_MS) },
    key: utf8Codec,
    value: protoCodec(Heartbeat, 'pulse.cdc.v1.Heartbeat'),
  }),
  recsServed: defineTopic({
    name: 'pulse.recs.served.v1',
    description:
      'Every recommendation list served (Recommend, RecommendSimilar, RankItems) with its items, their sources, the model and variant; key = recommendation_id. Activity carrying the recommendation_id joins to it.',
    partitions: 6,
    config: { 'retention.ms': String(7 * DAY_MS), 'segment.ms': SEGMENT_MS, 'cleanup.policy': 'delete' },
    key: utf8Codec,
    value: protoCodec(RecommendationServed, 'pulse.recs.v1.RecommendationServed'),
  }),
  recsModel: defineTopic({
    name: 'pulse.recs.model.v1',
    description: 'The promoted recommendation model, on every promotion and rollback; key = "promoted", compacted, so it holds the latest.',
    partitions: 1,
    config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0' },
    key: utf8Codec,
    value: protoCodec(ModelPromoted, 'pulse.recs.v1.ModelPromoted'),
  }),
  privacyErasures: defineTopic({
    name: 'pulse.privacy.erasures.v1',
    description:
      'The erasure list: one record per erased user, key = subject hash (HMAC of the user id), written by privacy; every consumer of user data drops the listed subjects.',
    // One partition: consumers read it whole at start, in order. Compacted and kept forever: tiny records.
    partitions: 1,
    config: { 'cleanup.policy': 'compact' },
    key: utf8Codec,
    value: protoCodec(SubjectErased, 'pulse.privacy.v1.SubjectErased'),
  }),
  logs: defineTopic({
    name: 'pulse.logs.v1',
    description:
      'A copy of every service log line (pino JSON, user ids hashed), shipped by each service when LOG_SHIPPING_ENABLED; key = service@host:pid, so one process stays in order. Read by the log indexer into the log store; a buffer, not the store.',
    partitions: 3,
    config: { 'retention.ms': String(DAY_MS), 'cleanup.policy': 'delete' },
    key: utf8Codec,
    value: jsonCodec<ShippedLog>(),
  }),
} as const;

/**
 * One log line as shipped to `pulse.logs.v1`: pino's JSON record (`level` as a label, `time` as ISO 8601, `service`,
 * `msg`, `trace_id`/`span_id` while tracing, and the line's own fields) with user ids replaced by keyed hashes, plus
 * where it came from.
 */
export interface ShippedLog {
  service: string;
  level: string;
  time: string;
  msg?: string;
  trace_id?: string;
  span_id?: string;
  /** `host:pid` of the process that wrote it. */
  instance: string;
  [field: string]: unknown;
}

/**
 * The CDC topic of one table of the app database: `pulse.cdc.<table>.v1` for a table of schema `public`,
 * `pulse.cdc.<schema>.<table>.v1` for any other schema. Keyed by the primary key columns (a JSON object),
 * values in Debezium's JSON envelope (schemas disabled) so Debezium consumers read it unchanged.
 * Compacted with a retention, so the latest row per key stays and deletes' tombstones clean up.
 * Names are lower-cased and characters outside [a-z0-9_] become `_`, as Debezium does for topic names.
 */
export function cdcTopic(table: string, schema = 'public'): TopicDefinition<Record<string, unknown>, DebeziumEnvelope> {
  const qualified = schema === 'public' ? table : `${schema}.${table}`;
  const name = `pulse.cdc.${[schema === 'public' ? [] : [schema], table].flat().map(topicSegment).join('.')}.v1`;
  return defineTopic({
    name,
    description: `Row changes of table ${qualified}, Debezium JSON envelope; key = primary key columns.`,
    partitions: 6,
    config: { 'cleanup.policy': 'compact,delete', 'retention.ms': String(30 * DAY_MS), ...COMPACTED_USER_DATA_CONFIG },
    key: jsonCodec<Record<string, unknown>>(),
    value: jsonCodec<DebeziumEnvelope>(),
  });
}

/**
 * The topic of one windowed aggregate of the etl service: `pulse.aggregates.<name>.v1`. Key =
 * `<window_start RFC 3339>|k=v|...` (group key entries sorted by key), so every update of one window and
 * group lands on one partition and compaction keeps the latest; value = WindowAggregate.
 */
export function aggregateTopic(name: string): TopicDefinition<string, WindowAggregate> {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`aggregate name "${name}" must match [a-z][a-z0-9_]*`);
  return defineTopic({
    name: `pulse.aggregates.${name}.v1`,
    description: `Window results of aggregate ${name}, updated as data arrives, final once the window closes.`,
    partitions: 6,
    config: { 'cleanup.policy': 'compact,delete', 'retention.ms': String(30 * DAY_MS), ...COMPACTED_USER_DATA_CONFIG },
    key: utf8Codec,
    value: protoCodec(WindowAggregate, 'pulse.etl.v1.WindowAggregate'),
  });
}

/**
 * The dead-letter topic of one consumer group: `pulse.deadletter.<group>.v1`. A record the group could not
 * decode, or whose handling failed for good, is written here as it was read (key = the original key bytes,
 * value = the original value bytes) with headers that say where it came from and why it failed, in Kafka
 * Connect's style (`__pulse.errors.topic`, `.partition`, `.offset`, `.timestamp`, `.group`, `.exception.class`,
 * `.exception.message`, `.attempts`, `.failed_at`); the source's own headers are kept. Group names are
 * lower-cased and characters outside [a-z0-9_] become `_` (`storage-activity` → `storage_activity`).
 */
export function deadLetterTopic(group: string): TopicDefinition<Buffer, Buffer> {
  return defineTopic({
    name: `pulse.deadletter.${topicSegment(group)}.v1`,
    description: `Records consumer group ${group} could not handle, as read, with the source and the error in headers.`,
    partitions: 3,
    config: { 'cleanup.policy': 'delete', 'retention.ms': String(30 * DAY_MS) },
    key: bytesCodec,
    value: bytesCodec,
  });
}

/** What `deadletters replay` records of one replayed dead letter (the topic's key is the source position). */
export interface DeadLetterReplay {
  /** Topic the record was written back to. */
  to: string;
  /** Where the dead letter that was replayed sits (`topic/partition/offset`). */
  deadLetter: string;
  /** When, ms since the epoch. */
  replayedAtMs: number;
}

/**
 * The replay markers of a consumer group's dead letters: `pulse.deadletter.<group>.replayed.v1`, one record per
 * source record written back (key = its source position `topic/partition/offset`), compacted, so a second
 * replay skips what the first wrote back, and duplicate dead letters of one record are written back once.
 */
export function deadLetterReplayTopic(group: string): TopicDefinition<string, DeadLetterReplay> {
  return defineTopic({
    name: `pulse.deadletter.${topicSegment(group)}.replayed.v1`,
    description: `Dead letters of consumer group ${group} written back to a topic; key = the source position.`,
    partitions: 1,
    config: { 'cleanup.policy': 'compact' },
    key: utf8Codec,
    value: jsonCodec<DeadLetterReplay>(),
  });
}

/**
 * The definition of one of Pulse's topics by name: the fixed ones of `Topics` and the CDC and aggregate families
 * (`pulse.cdc[.<schema>].<table>.v1`, `pulse.aggregates.<name>.v1`); undefined for any other name. For tools that
 * meet topics by name (a consumer group's subscriptions).
 */
export function topicByName(name: string): TopicDefinition<unknown, unknown> | undefined {
  const fixed = Object.values(Topics).find((topic) => topic.name === name);
  if (fixed) return fixed as TopicDefinition<unknown, unknown>;
  const aggregate = /^pulse\.aggregates\.([a-z][a-z0-9_]*)\.v1$/.exec(name);
  if (aggregate) return aggregateTopic(aggregate[1]) as TopicDefinition<unknown, unknown>;
  const cdc = /^pulse\.cdc\.(?:([a-z][a-z0-9_]*)\.)?([a-z][a-z0-9_]*)\.v1$/.exec(name);
  if (cdc) return cdcTopic(cdc[2], cdc[1] ?? 'public') as TopicDefinition<unknown, unknown>;
  return undefined;
}

/** Record key of a WindowAggregate: window start, then the group key's `k=v` entries sorted by key. */
export function windowAggregateKey(windowStart: Date, groupKey: Readonly<Record<string, string>>): string {
  const entries = Object.keys(groupKey)
    .sort()
    .map((k) => `${k}=${groupKey[k]}`);
  return `${windowStart.toISOString()}|${entries.join('|')}`;
}

function topicSegment(identifier: string): string {
  const segment = identifier.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return /^[a-z]/.test(segment) ? segment : `t_${segment}`;
}

/** `source.snapshot` of a Debezium event: `false` when streamed, the snapshot position otherwise. */
export type DebeziumSnapshotMarker =
  'true' | 'false' | 'first' | 'first_in_data_collection' | 'last_in_data_collection' | 'last' | 'incremental';

/**
 * The `source` block of a Debezium PostgreSQL change event (io.debezium.connector.postgresql.Source).
 * The cdc service writes every field; the optional ones are optional for readers of older events.
 */
export interface DebeziumPostgresSource {
  version?: string;
  connector?: 'postgresql';
  /** Logical server name (Debezium's `topic.prefix`). */
  name?: string;
  /** Commit time of the transaction (snapshot: time of the read), ms since the epoch. */
  ts_ms: number;
  ts_us?: number;
  ts_ns?: number;
  snapshot: DebeziumSnapshotMarker;
  db: string;
  /** JSON array of two strings: the LSN of the last commit before this event and the event's own LSN. */
  sequence?: string | null;
  schema: string;
  table: string;
  txId: number;
  /** WAL position of the change (64-bit LSN as a number). */
  lsn: number;
  xmin?: number | null;
  /** Replication origin of a transaction replayed from another server (pgoutput ORIGIN), else null. */
  origin?: string | null;
  /** That transaction's commit LSN on the origin server, else null. */
  origin_lsn?: number | null;
}

/** Debezium's change event value (JsonConverter, schemas.enable=false). */
export interface DebeziumEnvelope {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** c = create, u = update, d = delete, r = read (snapshot), t = truncate. */
  op: 'c' | 'u' | 'd' | 'r' | 't';
  /** When the connector processed the event, ms since the epoch. */
  ts_ms: number;
  ts_us?: number;
  ts_ns?: number;
  source: DebeziumPostgresSource;
  /** Transaction metadata (`provide.transaction.metadata`); null when not provided. */
  transaction?: { id: string; total_order: number; data_collection_order: number } | null;
}

export const ALL_STATIC_TOPICS: readonly TopicDefinition<any, any>[] = Object.values(Topics);
