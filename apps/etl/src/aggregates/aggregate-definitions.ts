import type { CreateTableOptions, DeltaColumn } from '@pulse/lake';

export type WindowSpec =
  { kind: 'tumbling'; sizeMs: number } | { kind: 'sliding'; sizeMs: number; slideMs: number } | { kind: 'session'; gapMs: number };

/** The fields of a tracked event that aggregates read (bronze column names). */
export interface ActivityFacts {
  eventId: string;
  userId: string;
  /** Activity type without prefix: VIEW, LIKE, … */
  type: string;
  /** POST, USER, COMMENT, or null. */
  targetType: string | null;
  targetId: string | null;
  /** Event time, ms. */
  occurredAt: number;
}

/** A count of the events of some activity types in a window (all events when `types` is absent). */
export interface CounterDefinition {
  name: string;
  types?: readonly string[];
}

/** A metric computed from the counters when a window is emitted. */
export type DerivedDefinition =
  | { name: string; kind: 'ratio'; numerator: string; denominator: string }
  | { name: string; kind: 'sum'; of: readonly string[] }
  | { name: string; kind: 'session_seconds' };

/**
 * A windowed aggregate over the activity stream, declared once and evaluated both incrementally by the
 * stream and as SQL over the bronze table by backfills.
 */
export interface AggregateDefinition {
  /** `[a-z][a-z0-9_]*`: topic pulse.aggregates.<name>.v1, table agg/<name>. */
  name: string;
  description: string;
  window: WindowSpec;
  /** Only events with this target type count (all events when absent). */
  targetType?: string;
  /** The group key: one column, from the event's user or target. */
  group: { column: string; from: 'user_id' | 'target_id' };
  counters: readonly CounterDefinition[];
  derived: readonly DerivedDefinition[];
}

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** The aggregates Pulse computes (ETL_AGGREGATE_PREFIX prefixes their names). */
export const ACTIVITY_AGGREGATES: readonly AggregateDefinition[] = [
  {
    name: 'post_engagement_1h',
    description: 'Engagement per post per hour (tumbling)',
    window: { kind: 'tumbling', sizeMs: HOUR },
    targetType: 'POST',
    group: { column: 'post_id', from: 'target_id' },
    counters: [
      { name: 'impressions', types: ['IMPRESSION'] },
      { name: 'views', types: ['VIEW'] },
      { name: 'clicks', types: ['CLICK'] },
      { name: 'likes', types: ['LIKE'] },
      { name: 'comments', types: ['COMMENT'] },
      { name: 'shares', types: ['SHARE'] },
      { name: 'bookmarks', types: ['BOOKMARK'] },
      { name: 'hides', types: ['HIDE'] },
    ],
    derived: [
      { name: 'engagements', kind: 'sum', of: ['likes', 'comments', 'shares', 'bookmarks'] },
      { name: 'ctr', kind: 'ratio', numerator: 'clicks', denominator: 'impressions' },
    ],
  },
  {
    name: 'user_actions_1h',
    description: 'Actions per user over the last hour, every 15 minutes (sliding)',
    window: { kind: 'sliding', sizeMs: HOUR, slideMs: 15 * MINUTE },
    group: { column: 'user_id', from: 'user_id' },
    counters: [
      { name: 'actions' },
      { name: 'views', types: ['VIEW'] },
      { name: 'likes', types: ['LIKE'] },
      { name: 'comments', types: ['COMMENT'] },
      { name: 'shares', types: ['SHARE'] },
      { name: 'follows', types: ['FOLLOW'] },
      { name: 'posts', types: ['POST_CREATED'] },
    ],
    derived: [],
  },
  {
    name: 'user_sessions',
    description: 'Activity sessions per user, closed by 30 minutes without events (session)',
    window: { kind: 'session', gapMs: 30 * MINUTE },
    group: { column: 'user_id', from: 'user_id' },
    counters: [{ name: 'events' }, { name: 'views', types: ['VIEW'] }, { name: 'likes', types: ['LIKE'] }],
    derived: [{ name: 'duration_seconds', kind: 'session_seconds' }],
  },
];

/** The Delta table of an aggregate's final windows, partitioned by the UTC date of the window start. */
export function aggregateTable(definition: AggregateDefinition, targetFileSize: number, checkpointInterval: number): CreateTableOptions {
  const columns: DeltaColumn[] = [
    { name: 'window_start', type: 'timestamp', nullable: false },
    { name: 'window_end', type: 'timestamp', nullable: false },
    { name: definition.group.column, type: 'string', nullable: false },
    ...definition.counters.map((c) => ({ name: c.name, type: 'long' as const })),
    ...definition.derived.map((d) => ({ name: d.name, type: 'double' as const })),
    { name: 'update_count', type: 'integer' },
    { name: 'emitted_at', type: 'timestamp' },
    { name: 'window_date', type: 'date', nullable: false },
  ];
  return {
    name: `agg_${definition.name}`,
    description: definition.description,
    columns,
    partitionColumns: ['window_date'],
    configuration: {
      'delta.checkpointInterval': String(checkpointInterval),
      'delta.deletedFileRetentionDuration': 'interval 7 days',
      'pulse.targetFileSize': String(targetFileSize),
    },
  };
}

export function withPrefix(definition: AggregateDefinition, prefix: string): AggregateDefinition {
  return prefix ? { ...definition, name: `${prefix}${definition.name}` } : definition;
}
