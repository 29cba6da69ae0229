import { cdcV1, type DebeziumSnapshotMarker } from '@pulse/contracts';
import { capturedTable, type CapturedTable, type ChangeEventMapper } from '../debezium/change-event.mapper';
import type { TypeRegistry } from '../debezium/pg-types';
import type { TableInfo } from '../capture/cdc-catalog.pg.repository';
import { encodeRecord, type EncodedRecord } from '../capture/kafka-records';
import { relationShape, schemaChangeRecord } from '../capture/schema-change';
import type { Lsn } from '../replication/lsn';
import type { InitialSnapshotReader, TextRow } from './initial-snapshot.pg.reader';

export interface InitialSnapshotDeps {
  reader: InitialSnapshotReader;
  snapshotName: string;
  /** The slot's consistent point: `source.lsn` of every snapshot event. */
  consistentPoint: Lsn;
  tables: readonly TableInfo[];
  mapper: ChangeEventMapper;
  types: TypeRegistry;
  database: string;
  fetchSize: number;
  maxBatchRecords: number;
  maxBatchBytes: number;
  send(records: readonly EncodedRecord[]): Promise<void>;
  /** Called as rows are read, per table. */
  progress(table: string, rows: number): void;
  /** Checked between fetches: true aborts the snapshot (shutdown). */
  cancelled(): boolean;
}

export interface InitialSnapshotResult {
  rows: number;
  /** Table shapes announced on the schema change topic, by `schema.table`. */
  shapes: Record<string, string>;
}

export class SnapshotCancelledError extends Error {
  constructor() {
    super('initial snapshot cancelled');
  }
}

/**
 * The initial snapshot: for every table of the publication a CREATE schema change, then each row as a
 * Debezium read event (op r) with `source.snapshot` first / first_in_data_collection / true /
 * last_in_data_collection / last — the very last row is always `last`, even when it is also the first.
 */
export async function takeInitialSnapshot(deps: InitialSnapshotDeps): Promise<InitialSnapshotResult> {
  const txId = await deps.reader.begin(deps.snapshotName);
  const batch: EncodedRecord[] = [];
  let batchBytes = 0;
  const add = async (record: EncodedRecord) => {
    batch.push(record);
    batchBytes += record.bytes;
    if (batch.length >= deps.maxBatchRecords || batchBytes >= deps.maxBatchBytes) {
      await deps.send(batch.splice(0));
      batchBytes = 0;
    }
  };

  const shapes: Record<string, string> = {};
  const tables = deps.tables.map((info) => ({
    info,
    captured: capturedTable(
      info.relationOid,
      info.schema,
      info.table,
      info.columns.map((c) => ({ isKey: false, name: c.name, typeOid: c.typeOid, typeMod: c.typeMod })),
      info.primaryKey,
    ),
  }));
  const nowMicros = () => BigInt(Date.now()) * 1000n;
  for (const { info, captured } of tables) {
    shapes[`${info.schema}.${info.table}`] = relationShape(captured.columns);
    await add(
      encodeRecord({
        ...schemaChangeRecord(captured, info, cdcV1.SchemaChangeType.SCHEMA_CHANGE_TYPE_CREATE, {
          database: deps.database,
          lsn: deps.consistentPoint,
          timeMicros: nowMicros(),
          types: deps.types,
          columns: deps.mapper.columns,
        }),
        headers: deps.mapper.contextHeaders,
      }),
    );
  }

  // One row of look-ahead: whether a row is the last of its table, or of the snapshot, is known once the next arrives.
  let pending: { table: CapturedTable; row: TextRow; firstInTable: boolean; firstOverall: boolean; tableEnded: boolean } | undefined;
  let rows = 0;
  const emit = async (lastOverall: boolean) => {
    if (!pending) return;
    const { table, row, firstInTable, firstOverall, tableEnded } = pending;
    const marker: DebeziumSnapshotMarker = lastOverall
      ? 'last'
      : firstOverall
        ? 'first'
        : firstInTable
          ? 'first_in_data_collection'
          : tableEnded
            ? 'last_in_data_collection'
            : 'true';
    const values = deps.mapper.row(
      table,
      row.map((v) => (v === null ? { kind: 'null' as const } : { kind: 'text' as const, value: v })),
    );
    await add(
      encodeRecord(
        deps.mapper.read(table, values, {
          txId,
          lsn: deps.consistentPoint,
          lastCommitLsn: null,
          timeMicros: nowMicros(),
          snapshot: marker,
        }),
      ),
    );
    pending = undefined;
  };

  for (const { info, captured } of tables) {
    let firstInTable = true;
    await deps.reader.readTable(info, deps.fetchSize, async (fetched) => {
      if (deps.cancelled()) throw new SnapshotCancelledError();
      for (const row of fetched) {
        await emit(false);
        pending = { table: captured, row, firstInTable, firstOverall: rows === 0, tableEnded: false };
        firstInTable = false;
        rows++;
      }
      deps.progress(`${info.schema}.${info.table}`, fetched.length);
    });
    if (pending) pending.tableEnded = true;
  }
  await emit(true);
  if (batch.length > 0) await deps.send(batch.splice(0));
  return { rows, shapes };
}
