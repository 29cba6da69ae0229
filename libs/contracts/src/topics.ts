import { jsonCodec, protoCodec, utf8Codec } from './codecs';
import { ActivityRejected, ActivityTracked } from './gen/pulse/ingest/v1';
import { DAY_MS, defineTopic, TopicDefinition } from './topic-definition';

/**
 * The one registry of Kafka topics. Every producer and consumer in Pulse names a topic through this
 * object, never by string, so key/value codecs, partitions and retention are declared once.
 */
export const Topics = {
  activityTracked: defineTopic({
    name: 'pulse.activity.tracked.v1',
    description: 'Every accepted user activity, written by ingest; key = user_id, so one user stays in order.',
    partitions: 12,
    config: { 'retention.ms': String(7 * DAY_MS), 'cleanup.policy': 'delete', 'min.insync.replicas': '1' },
    key: utf8Codec,
    value: protoCodec(ActivityTracked, 'pulse.ingest.v1.ActivityTracked'),
  }),
  activityRejected: defineTopic({
    name: 'pulse.activity.rejected.v1',
    description: 'Dead letters of ingest: each rejected event with its reason; key = event_id.',
    partitions: 3,
    config: { 'retention.ms': String(30 * DAY_MS), 'cleanup.policy': 'delete' },
    key: utf8Codec,
    value: protoCodec(ActivityRejected, 'pulse.ingest.v1.ActivityRejected'),
  }),
} as const;

/**
 * The CDC topic of one table of the app database: `pulse.cdc.<table>.v1`, keyed by primary key,
 * values in Debezium's JSON envelope (schemas disabled) so Debezium consumers read it unchanged.
 * Compacted with a retention, so the latest row per key stays and deletes' tombstones clean up.
 */
export function cdcTopic(table: string): TopicDefinition<Record<string, unknown>, DebeziumEnvelope> {
  return defineTopic({
    name: `pulse.cdc.${table}.v1`,
    description: `Row changes of table ${table}, Debezium JSON envelope; key = primary key columns.`,
    partitions: 6,
    config: { 'cleanup.policy': 'compact,delete', 'retention.ms': String(30 * DAY_MS) },
    key: jsonCodec<Record<string, unknown>>(),
    value: jsonCodec<DebeziumEnvelope>(),
  });
}

/** Debezium's change event value (JsonConverter, schemas.enable=false). */
export interface DebeziumEnvelope {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** c = create, u = update, d = delete, r = read (snapshot), t = truncate. */
  op: 'c' | 'u' | 'd' | 'r' | 't';
  ts_ms: number;
  source: Record<string, unknown> & {
    db: string;
    schema: string;
    table: string;
    lsn: number;
    txId: number;
    ts_ms: number;
    snapshot: 'true' | 'false' | 'first' | 'last' | 'incremental';
  };
  transaction?: { id: string; total_order: number; data_collection_order: number } | null;
}

export const ALL_STATIC_TOPICS: readonly TopicDefinition<any, any>[] = Object.values(Topics);
