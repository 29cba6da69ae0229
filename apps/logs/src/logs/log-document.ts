import type { ShippedLog } from '@pulse/contracts';
import { isPersonalField } from '@pulse/platform';

/** pino's levels by name; the store keeps the number too, so that "warn and above" is a range query. */
export const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** Fields of a line that have their own place in the document; the rest go to `fields`. */
const OWN = new Set([
  'time',
  'service',
  'level',
  'msg',
  'trace_id',
  'span_id',
  'instance',
  'err',
  'request_id',
  'requestId',
  'reqId',
  'context',
]);

/** One stored log line (the index template's mapping). */
export interface LogDocument {
  '@timestamp': string;
  service: string;
  level: string;
  level_value: number;
  message: string;
  trace_id?: string;
  span_id?: string;
  request_id?: string;
  /** The keyed hash of the first personal id of the line (user_id, actorId, ...), to find one person's lines. */
  user_hash?: string;
  instance: string;
  /** Nest's logger context (the class that logged), when there is one. */
  context?: string;
  error?: { type?: string; message?: string; stack?: string };
  /** Every other field, searchable by dotted path (`fields.topic:pulse.activity.tracked.v1`). */
  fields: Record<string, unknown>;
}

/** The daily index of a line: `<prefix>-YYYY.MM.DD` of its time (UTC), so retention deletes whole days. */
export function indexFor(prefix: string, timeIso: string): string {
  const day = new Date(Date.parse(timeIso) || Date.now()).toISOString().slice(0, 10).replaceAll('-', '.');
  return `${prefix}-${day}`;
}

/** The day of a daily index name, as ms since the epoch; undefined for names of another shape. */
export function dayOfIndex(prefix: string, index: string): number | undefined {
  const match = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d{4})\\.(\\d{2})\\.(\\d{2})$`).exec(index);
  return match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : undefined;
}

export function toDocument(line: ShippedLog): LogDocument {
  const fields: Record<string, unknown> = {};
  let userHash: string | undefined;
  for (const [name, value] of Object.entries(line)) {
    if (OWN.has(name)) continue;
    if (userHash === undefined && isPersonalField(name) && typeof value === 'string') userHash = value;
    fields[name] = value;
  }
  const err = line.err as { type?: unknown; message?: unknown; stack?: unknown } | undefined;
  const requestId = line.request_id ?? line.requestId ?? line.reqId;
  const level = typeof line.level === 'string' && line.level in LEVELS ? line.level : 'info';
  return {
    '@timestamp': line.time,
    service: line.service,
    level,
    level_value: LEVELS[level],
    message: typeof line.msg === 'string' ? line.msg : '',
    ...(line.trace_id && { trace_id: line.trace_id }),
    ...(line.span_id && { span_id: line.span_id }),
    ...(requestId !== undefined && requestId !== null && { request_id: String(requestId) }),
    ...(userHash && { user_hash: userHash }),
    instance: line.instance,
    ...(typeof line.context === 'string' && { context: line.context }),
    ...(err &&
      typeof err === 'object' && {
        error: {
          type: typeof err.type === 'string' ? err.type : undefined,
          message: typeof err.message === 'string' ? err.message : undefined,
          stack: typeof err.stack === 'string' ? err.stack : undefined,
        },
      }),
    fields,
  };
}

/**
 * The index template of the daily log indices: one shard, the given replicas, a refresh every second (a line is
 * searchable within about a second of indexing), a fixed mapping (`dynamic: false`, so no line can add fields to it)
 * with every other field in a `flat_object`.
 */
export function indexTemplate(prefix: string, replicas: number) {
  return {
    index_patterns: [`${prefix}-*`],
    priority: 100,
    template: {
      settings: { number_of_shards: 1, number_of_replicas: replicas, refresh_interval: '1s' },
      mappings: {
        dynamic: false,
        properties: {
          '@timestamp': { type: 'date' },
          service: { type: 'keyword' },
          level: { type: 'keyword' },
          level_value: { type: 'byte' },
          message: { type: 'text' },
          trace_id: { type: 'keyword' },
          span_id: { type: 'keyword' },
          request_id: { type: 'keyword' },
          user_hash: { type: 'keyword' },
          instance: { type: 'keyword' },
          context: { type: 'keyword' },
          error: { properties: { type: { type: 'keyword' }, message: { type: 'text' }, stack: { type: 'text', index: false } } },
          fields: { type: 'flat_object' },
        },
      },
    },
  };
}

/** The ISM policy where the store has Index State Management: a daily index is deleted once older than retention. */
export function retentionPolicy(prefix: string, retentionMs: number) {
  return {
    policy: {
      description: `Deletes ${prefix}-* indices ${Math.round(retentionMs / 3_600_000)} h after their creation (the logs service's retention).`,
      default_state: 'hot',
      states: [
        {
          name: 'hot',
          actions: [],
          transitions: [{ state_name: 'delete', conditions: { min_index_age: `${Math.round(retentionMs / 60_000)}m` } }],
        },
        { name: 'delete', actions: [{ delete: {} }], transitions: [] },
      ],
      ism_template: [{ index_patterns: [`${prefix}-*`], priority: 100 }],
    },
  };
}
