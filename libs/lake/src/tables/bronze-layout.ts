import type { DeltaColumn } from '../delta/actions';
import type { CreateTableOptions } from '../delta/write';

/**
 * The layout of Pulse's bronze tables: where each lives under the lake root, its columns and partitioning. etl
 * writes them (apps/etl/src/bronze/bronze-tables.ts maps each record to a row); the readers (the recommender's
 * training from the lake) and their tests use the same layout, declared once here as the topics are in
 * @pulse/contracts.
 */
export interface BronzeLayout {
  /** Key of the table's root under the lake root. */
  path: string;
  create: CreateTableOptions;
}

/** The Kafka position of each row's record, last before the partition column. */
const KAFKA_COLUMNS: DeltaColumn[] = [
  { name: 'kafka_partition', type: 'integer', nullable: false },
  { name: 'kafka_offset', type: 'long', nullable: false },
  { name: 'kafka_timestamp', type: 'timestamp' },
];

/** Table properties of a bronze table: its checkpoint interval, file retention and target file size. */
export function bronzeConfiguration(targetFileSize: number, checkpointInterval: number): Record<string, string> {
  return {
    'delta.checkpointInterval': String(checkpointInterval),
    'delta.deletedFileRetentionDuration': 'interval 7 days',
    'pulse.targetFileSize': String(targetFileSize),
  };
}

/** Where bronze/activity lives. */
export const ACTIVITY_BRONZE_PATH = 'bronze/activity';

/** bronze/cdc/<schema>.<table>: the change events of one app-database table. */
export function cdcBronzePath(qualified: string): string {
  return `bronze/cdc/${qualified}`;
}

/**
 * bronze/activity: every tracked event as accepted by ingest, flattened, partitioned by the UTC date of
 * `occurred_at` (the event time). One row per Kafka record; `event_id` is unique per accepted event.
 */
export function activityBronzeLayout(configuration: Record<string, string>): BronzeLayout {
  return {
    path: ACTIVITY_BRONZE_PATH,
    create: {
      name: 'activity_bronze',
      description: 'Tracked user activity (pulse.activity.tracked.v1), one row per accepted event',
      columns: [
        { name: 'event_id', type: 'string', nullable: false },
        { name: 'user_id', type: 'string', nullable: false },
        { name: 'type', type: 'string', nullable: false },
        { name: 'target_type', type: 'string' },
        { name: 'target_id', type: 'string' },
        { name: 'occurred_at', type: 'timestamp', nullable: false },
        { name: 'received_at', type: 'timestamp' },
        { name: 'session_id', type: 'string' },
        { name: 'recommendation_id', type: 'string' },
        { name: 'properties', type: 'map<string,string>' },
        { name: 'platform', type: 'string' },
        { name: 'app_version', type: 'string' },
        { name: 'client_id', type: 'string' },
        ...KAFKA_COLUMNS,
        { name: 'event_date', type: 'date', nullable: false },
      ],
      partitionColumns: ['event_date'],
      configuration,
    },
  };
}

/**
 * bronze/recs_served: every recommendation list served (pulse.recs.served.v1), partitioned by the UTC date it
 * was served. One row per list; `items` holds its items in order as JSON.
 */
export function recsServedBronzeLayout(configuration: Record<string, string>): BronzeLayout {
  return {
    path: 'bronze/recs_served',
    create: {
      name: 'recs_served_bronze',
      description: 'Recommendation lists served (pulse.recs.served.v1), one row per list',
      columns: [
        { name: 'recommendation_id', type: 'string', nullable: false },
        { name: 'user_id', type: 'string' },
        { name: 'seed_item_id', type: 'string' },
        { name: 'model_version', type: 'string' },
        { name: 'strategy', type: 'string' },
        { name: 'experiment_id', type: 'string' },
        { name: 'variant', type: 'string' },
        { name: 'served_at', type: 'timestamp', nullable: false },
        { name: 'items', type: 'string', nullable: false },
        { name: 'item_count', type: 'integer', nullable: false },
        { name: 'context', type: 'map<string,string>' },
        ...KAFKA_COLUMNS,
        { name: 'served_date', type: 'date', nullable: false },
      ],
      partitionColumns: ['served_date'],
      configuration,
    },
  };
}

/**
 * bronze/cdc/<schema>.<table>: the change events of one app-database table, the Debezium envelope's before and
 * after as JSON text, partitioned by the UTC date of the change's commit (`source.ts_ms`).
 */
export function cdcBronzeLayout(qualified: string, configuration: Record<string, string>): BronzeLayout {
  const name = `cdc_${qualified.replace('.', '_')}_bronze`;
  return {
    path: cdcBronzePath(qualified),
    create: {
      name,
      description: `Change events of app-database table ${qualified} (Debezium envelope)`,
      columns: [
        { name: 'key', type: 'string' },
        { name: 'op', type: 'string' },
        { name: 'before', type: 'string' },
        { name: 'after', type: 'string' },
        { name: 'source_ts', type: 'timestamp' },
        { name: 'lsn', type: 'long' },
        { name: 'tx_id', type: 'long' },
        { name: 'snapshot', type: 'string' },
        { name: 'ts', type: 'timestamp' },
        ...KAFKA_COLUMNS,
        { name: 'change_date', type: 'date', nullable: false },
      ],
      partitionColumns: ['change_date'],
      configuration,
    },
  };
}
