import { randomUUID } from 'node:crypto';
import {
  cdcTopic,
  type DebeziumEnvelope,
  type DebeziumPostgresSource,
  type DebeziumSnapshotMarker,
  type TopicDefinition,
} from '@pulse/contracts';
import type { RelationColumn, TupleValue } from '../replication/pgoutput.decoder';
import { ColumnFilter } from './column-filter';
import type { TypeRegistry } from './pg-types';
import { convertValue, jsonInteger, UNAVAILABLE_VALUE_PLACEHOLDER } from './value-converter';

/**
 * `source` of Pulse's events: Debezium's PostgreSQL source block, with the replication origin fields of
 * Debezium 3.x (`origin`: the origin name of a transaction replayed from another server, from pgoutput's
 * ORIGIN message; `origin_lsn`: that transaction's commit LSN on the origin server; both null otherwise).
 */
export type PulsePostgresSource = DebeziumPostgresSource & Required<Pick<DebeziumPostgresSource, 'origin' | 'origin_lsn'>>;

/** `source.version` of every event: this connector's version (Debezium writes its own, e.g. "3.0.5.Final"). */
export const CONNECTOR_VERSION = '0.1.0-pulse';

export type CdcKey = Record<string, unknown> | null;
export type CdcTopic = TopicDefinition<Record<string, unknown>, DebeziumEnvelope>;

/** A captured table as the stream and the snapshot know it: its columns, key and topic. */
export interface CapturedTable {
  relationOid: number;
  schema: string;
  table: string;
  columns: RelationColumn[];
  /** Record key columns: the primary key; else a REPLICA IDENTITY USING INDEX key; else none (null key). */
  keyColumns: string[];
  topic: CdcTopic;
}

export function capturedTable(
  relationOid: number,
  schema: string,
  table: string,
  columns: RelationColumn[],
  primaryKey: string[],
): CapturedTable {
  const keyColumns = primaryKey.length > 0 ? primaryKey : columns.filter((c) => c.isKey).map((c) => c.name);
  return { relationOid, schema, table, columns, keyColumns, topic: cdcTopic(table, schema) };
}

/** One Kafka record to write, with what the status counters need. */
export interface CdcRecord {
  topic: TopicDefinition<any, any>;
  key: unknown;
  /** null: a tombstone. */
  value: unknown;
  headers?: Readonly<Record<string, string>>;
  /** `schema.table` and op of a row event (not of tombstones, heartbeats or schema changes). */
  stats?: { table: string; op: DebeziumEnvelope['op'] };
}

/** Where an event comes from: its transaction (or snapshot) and WAL position. */
export interface EventPosition {
  txId: number;
  /** LSN of the change (snapshot: the slot's consistent point). */
  lsn: bigint;
  /** LSN of the last commit seen before this event's transaction; null when not known. */
  lastCommitLsn: bigint | null;
  /** Commit time (snapshot: read time), µs since the epoch. */
  timeMicros: bigint;
  snapshot: DebeziumSnapshotMarker;
  /** The transaction's replication origin (pgoutput ORIGIN message); absent when it has none. */
  origin?: { name: string; lsn: bigint };
  /** `txId:commitLsn` and the event's order in its transaction, overall and for its table (1-based). */
  transaction?: { id: string; totalOrder: number; tableOrder: number };
}

export interface MapperSettings {
  serverName: string;
  database: string;
  tombstonesOnDelete: boolean;
  transactionMetadata: boolean;
  /** `__debezium.context.runId` of every record: one per process (a new UUID when not given). */
  runId?: string;
  /** Columns excluded or masked (`column.exclude.list`, `column.mask.with.<length>.chars`); none when absent. */
  columns?: ColumnFilter;
}

/** Header names of the records that stand for a change (Debezium's). */
export const NEW_KEY_HEADER = '__debezium.newkey';
export const OLD_KEY_HEADER = '__debezium.oldkey';

/**
 * Debezium 3.x's connector context headers, on every record: the logical name (`topic.prefix`, here
 * CDC_SERVER_NAME), the task (Pulse runs one, "0"), the connector type and an id of this run.
 */
export function connectorContextHeaders(serverName: string, runId: string): Readonly<Record<string, string>> {
  return Object.freeze({
    '__debezium.context.connectorLogicalName': serverName,
    '__debezium.context.taskId': '0',
    '__debezium.context.connectorName': 'postgresql',
    '__debezium.context.runId': runId,
  });
}

/**
 * Turns decoded row changes into Debezium change events: key = primary key columns, value = the envelope
 * {before, after, op, ts_ms, source, transaction}; a delete is followed by a tombstone; an update that
 * changes the primary key becomes a delete (+ tombstone) of the old key and a create of the new one,
 * with Debezium's `__debezium.newkey` / `__debezium.oldkey` headers.
 */
export class ChangeEventMapper {
  /** Headers of every record the service writes (see connectorContextHeaders). */
  readonly contextHeaders: Readonly<Record<string, string>>;
  /** The columns excluded or masked from row events and schema changes. */
  readonly columns: ColumnFilter;

  constructor(
    private readonly settings: MapperSettings,
    private readonly types: TypeRegistry,
    private readonly clock: () => number = Date.now,
  ) {
    this.contextHeaders = connectorContextHeaders(settings.serverName, settings.runId ?? randomUUID());
    this.columns = settings.columns ?? ColumnFilter.none();
  }

  /** A tombstone of `key` (after its delete), with the context headers and `extra`. */
  tombstone(table: CapturedTable, key: CdcKey, extra?: Record<string, string>): CdcRecord {
    return { topic: table.topic, key, value: null, headers: this.headers(extra) };
  }

  private headers(extra?: Record<string, string>): Readonly<Record<string, string>> {
    return extra ? { ...this.contextHeaders, ...extra } : this.contextHeaders;
  }

  row(table: CapturedTable, values: readonly TupleValue[]): Record<string, unknown> {
    if (values.length !== table.columns.length) {
      throw new Error(`${table.schema}.${table.table}: tuple has ${values.length} columns, relation has ${table.columns.length}`);
    }
    const row: Record<string, unknown> = {};
    const actions = this.columns.isEmpty
      ? undefined
      : this.columns.actions(
          table.schema,
          table.table,
          table.columns.map((c) => c.name),
          table.keyColumns,
        );
    table.columns.forEach((column, i) => {
      const action = actions?.[i];
      if (action?.kind === 'exclude') return;
      const value = values[i];
      if (value.kind === 'null') row[column.name] = null;
      else if (value.kind === 'unchanged') row[column.name] = UNAVAILABLE_VALUE_PLACEHOLDER;
      else if (action?.kind === 'mask') row[column.name] = action.value;
      else if (value.kind === 'text') row[column.name] = convertValue(value.value, column.typeOid, column.typeMod, this.types);
      else row[column.name] = value.value.toString('base64');
    });
    return row;
  }

  key(table: CapturedTable, row: Record<string, unknown> | null): CdcKey {
    if (!row || table.keyColumns.length === 0) return null;
    return Object.fromEntries(table.keyColumns.map((name) => [name, row[name] ?? null]));
  }

  insert(table: CapturedTable, newTuple: readonly TupleValue[], position: EventPosition): CdcRecord[] {
    const after = this.row(table, newTuple);
    return [this.event(table, 'c', null, after, this.key(table, after), position)];
  }

  /** A snapshot row (op r). */
  read(table: CapturedTable, row: Record<string, unknown>, position: EventPosition): CdcRecord {
    return this.event(table, 'r', null, row, this.key(table, row), position);
  }

  update(
    table: CapturedTable,
    oldTuple: { kind: 'key' | 'old'; values: readonly TupleValue[] } | undefined,
    newTuple: readonly TupleValue[],
    position: EventPosition,
    nextPosition: () => EventPosition,
  ): CdcRecord[] {
    const after = this.row(table, newTuple);
    const before = oldTuple ? this.row(table, oldTuple.values) : null;
    const newKey = this.key(table, after);
    const oldKey = before ? this.key(table, before) : newKey;
    if (before && JSON.stringify(oldKey) !== JSON.stringify(newKey)) {
      // The primary key changed: Debezium emits DELETE(old key) [+ tombstone] then CREATE(new key); the
      // delete and its tombstone carry the new key, the create the old one.
      const newKeyHeader = { [NEW_KEY_HEADER]: JSON.stringify(newKey) };
      const records = [this.event(table, 'd', before, null, oldKey, position, newKeyHeader)];
      if (this.settings.tombstonesOnDelete) records.push(this.tombstone(table, oldKey, newKeyHeader));
      records.push(this.event(table, 'c', null, after, newKey, nextPosition(), { [OLD_KEY_HEADER]: JSON.stringify(oldKey) }));
      return records;
    }
    return [this.event(table, 'u', before, after, newKey, position)];
  }

  delete(table: CapturedTable, oldTuple: { kind: 'key' | 'old'; values: readonly TupleValue[] }, position: EventPosition): CdcRecord[] {
    const before = this.row(table, oldTuple.values);
    const key = this.key(table, before);
    const records = [this.event(table, 'd', before, null, key, position)];
    if (this.settings.tombstonesOnDelete) records.push(this.tombstone(table, key));
    return records;
  }

  truncate(table: CapturedTable, position: EventPosition): CdcRecord {
    return this.event(table, 't', null, null, null, position);
  }

  private event(
    table: CapturedTable,
    op: DebeziumEnvelope['op'],
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
    key: CdcKey,
    position: EventPosition,
    headers?: Record<string, string>,
  ): CdcRecord {
    const nowMs = this.clock();
    const source: PulsePostgresSource = {
      version: CONNECTOR_VERSION,
      connector: 'postgresql',
      name: this.settings.serverName,
      ts_ms: Number(position.timeMicros / 1000n),
      snapshot: position.snapshot,
      db: this.settings.database,
      sequence: JSON.stringify([position.lastCommitLsn === null ? null : position.lastCommitLsn.toString(), position.lsn.toString()]),
      ts_us: Number(position.timeMicros),
      // Nanoseconds exceed 2^53: written verbatim so that the number stays exact.
      ts_ns: jsonInteger(position.timeMicros * 1000n) as number,
      schema: table.schema,
      table: table.table,
      txId: position.txId,
      lsn: Number(position.lsn),
      xmin: null,
      origin: position.origin?.name ?? null,
      origin_lsn: position.origin ? Number(position.origin.lsn) : null,
    };
    const value: DebeziumEnvelope = {
      before,
      after,
      source,
      transaction:
        this.settings.transactionMetadata && position.transaction
          ? {
              id: position.transaction.id,
              total_order: position.transaction.totalOrder,
              data_collection_order: position.transaction.tableOrder,
            }
          : null,
      op,
      ts_ms: nowMs,
      ts_us: nowMs * 1000,
      ts_ns: jsonInteger(BigInt(nowMs) * 1_000_000n) as number,
    };
    return { topic: table.topic, key, value, headers: this.headers(headers), stats: { table: `${table.schema}.${table.table}`, op } };
  }
}
