import { randomUUID } from 'node:crypto';
import { cdcV1 } from '@pulse/contracts';
import type { Logger } from '@pulse/platform';
import type { CdcCatalogRepository, TableInfo } from '../capture/cdc-catalog.pg.repository';
import { encodeRecord, type EncodedRecord } from '../capture/kafka-records';
import { capturedTable, type CapturedTable, type ChangeEventMapper, type EventPosition } from '../debezium/change-event.mapper';
import type { Lsn } from '../replication/lsn';
import type { KeyValues } from './incremental-snapshot.pg.reader';
import type { ChunkReader } from './incremental-snapshot.pg.reader';
import { ConditionError } from './snapshot-condition';

/** Prefix of the watermark messages (pg_logical_emit_message) that open and close a chunk's window. */
export const WATERMARK_PREFIX = 'pulse.cdc.snapshot.watermark';

export type SnapshotStateName = 'pending' | 'running' | 'completed' | 'stopped' | 'failed';

const STATE_TO_PROTO: Record<SnapshotStateName, cdcV1.SnapshotState> = {
  pending: cdcV1.SnapshotState.SNAPSHOT_STATE_PENDING,
  running: cdcV1.SnapshotState.SNAPSHOT_STATE_RUNNING,
  completed: cdcV1.SnapshotState.SNAPSHOT_STATE_COMPLETED,
  stopped: cdcV1.SnapshotState.SNAPSHOT_STATE_STOPPED,
  failed: cdcV1.SnapshotState.SNAPSHOT_STATE_FAILED,
};

/** Progress of one table, as persisted in connector_state.incremental_snapshot. */
export interface TableProgress {
  table: string;
  relationOid: number;
  state: SnapshotStateName;
  condition: string;
  rowsEmitted: number;
  rowsEstimated: number;
  chunks: number;
  /** Key of the last row emitted (text form); null before the first chunk. */
  lastKey: KeyValues | null;
  /** Greatest key when the table's snapshot began: rows above it are new, and streamed. null: not read yet. */
  maxKey: KeyValues | null;
}

/** An incremental snapshot, as persisted (times in ms since the epoch). */
export interface IncrementalSnapshotRecord {
  id: string;
  state: SnapshotStateName;
  chunkSize: number;
  tables: TableProgress[];
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  error: string;
}

export interface IncrementalSnapshotDeps {
  slot: string;
  publication: string;
  catalog: CdcCatalogRepository;
  reader: ChunkReader;
  mapper: ChangeEventMapper;
  logger: Logger;
  /** Stores the snapshot's progress (connector_state), so a restart resumes it. */
  persist(record: IncrementalSnapshotRecord): Promise<void>;
  /** Rows of a table now on Kafka. */
  emitted(table: string, rows: number): void;
}

/** The chunk between its watermarks: rows read, less the keys a streamed change touched inside the window. */
interface Chunk {
  watermark: string;
  table: TableProgress;
  captured: CapturedTable;
  open: boolean;
  /** Read rows by encoded record key. */
  rows: Map<string, Record<string, unknown>>;
  lastKey: KeyValues | null;
  /** Fewer rows than the chunk size: the table is done after this chunk. */
  last: boolean;
}

/** A chunk whose window closed, and its records to emit. */
export interface ClosedChunk {
  /** undefined: the chunk was dropped (snapshot stopped) meanwhile. */
  chunk: Chunk | undefined;
  records: EncodedRecord[];
}

const bufferKey = (key: Buffer) => key.toString('latin1');

/**
 * Incremental snapshots the way Debezium does them (DBLog's watermarks): a table is read in chunks by
 * primary key while streaming goes on. For each chunk the stream loop writes a low watermark, reads the
 * chunk (READ COMMITTED, ordered by key), writes a high watermark. When the stream reaches the low
 * watermark the window opens; every key a streamed change touches until the high watermark is dropped
 * from the chunk (the stream carries a newer value); at the high watermark the remaining rows are emitted
 * as `op: r` with `source.snapshot: incremental` inside the watermark's transaction, so they are on Kafka
 * before its commit is confirmed. Progress is persisted once a chunk is on Kafka.
 */
export class IncrementalSnapshotter {
  private record?: IncrementalSnapshotRecord;
  private chunk?: Chunk;
  private wake?: () => void;
  private streaming = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly deps: IncrementalSnapshotDeps) {}

  /** Restores a persisted snapshot: a running one resumes after its last emitted key. */
  restore(record: IncrementalSnapshotRecord | null | undefined): void {
    this.record = record ?? undefined;
    if (record && this.active) this.deps.logger.info({ snapshot: record.id }, 'incremental snapshot resumes');
  }

  get active(): boolean {
    return this.record?.state === 'pending' || this.record?.state === 'running';
  }

  get activeId(): string {
    return this.active && this.record ? this.record.id : '';
  }

  /** A chunk was read and its high watermark has not been handled yet (the slot must not be confirmed past it blindly). */
  get windowPending(): boolean {
    return this.chunk !== undefined;
  }

  /** A new replication session: a chunk in flight is forgotten (its watermarks are ignored) and read again. */
  sessionStarted(wake: () => void): void {
    this.chunk = undefined;
    this.wake = wake;
    this.streaming = true;
  }

  sessionEnded(): void {
    this.chunk = undefined;
    this.wake = undefined;
    this.streaming = false;
  }

  wantsChunk(): boolean {
    return this.streaming && this.active && this.chunk === undefined;
  }

  async start(tables: { info: TableInfo; condition: string }[], chunkSize: number): Promise<IncrementalSnapshotRecord> {
    const record: IncrementalSnapshotRecord = {
      id: randomUUID(),
      state: 'pending',
      chunkSize,
      tables: [],
      createdAt: Date.now(),
      error: '',
    };
    for (const { info, condition } of tables) {
      record.tables.push({
        table: `${info.schema}.${info.table}`,
        relationOid: info.relationOid,
        state: 'pending',
        condition,
        rowsEmitted: 0,
        rowsEstimated: await this.deps.reader.estimate(info),
        chunks: 0,
        lastKey: null,
        maxKey: null,
      });
    }
    await this.persist(record);
    this.record = record;
    this.chunk = undefined;
    this.deps.logger.info({ snapshot: record.id, tables: record.tables.map((t) => t.table), chunkSize }, 'incremental snapshot requested');
    this.wake?.();
    return record;
  }

  find(id: string): IncrementalSnapshotRecord | undefined {
    return this.record?.id === id ? this.record : undefined;
  }

  /** Stops the snapshot, or some of its tables; a finished snapshot is left as it is. */
  async stop(id: string, tables: readonly string[]): Promise<IncrementalSnapshotRecord | undefined> {
    const record = this.find(id);
    if (!record || !this.active) return record;
    for (const t of record.tables) {
      if ((tables.length === 0 || tables.includes(t.table)) && (t.state === 'pending' || t.state === 'running')) t.state = 'stopped';
    }
    if (this.chunk && this.chunk.table.state === 'stopped') this.chunk = undefined;
    if (record.tables.every((t) => t.state !== 'pending' && t.state !== 'running')) {
      record.state = record.tables.some((t) => t.state === 'stopped') ? 'stopped' : 'completed';
      record.finishedAt = Date.now();
      this.chunk = undefined;
    }
    await this.persist(record);
    this.deps.logger.info({ snapshot: id, tables }, 'incremental snapshot stopped');
    this.wake?.();
    return record;
  }

  /** Saves the snapshot's current progress; saves run one after the other, each writing the latest state. */
  private persist(record: IncrementalSnapshotRecord): Promise<void> {
    const saved = this.saving.then(() => this.deps.persist(record));
    this.saving = saved.catch(() => undefined);
    return saved;
  }

  /** Ends the snapshot on an error it cannot get past (a table dropped, a bad condition). */
  private async failWith(record: IncrementalSnapshotRecord, message: string): Promise<void> {
    record.state = 'failed';
    record.error = message;
    record.finishedAt = Date.now();
    for (const t of record.tables) if (t.state === 'running' || t.state === 'pending') t.state = 'failed';
    this.chunk = undefined;
    await this.persist(record);
    this.deps.logger.error({ snapshot: record.id }, `incremental snapshot failed: ${message}`);
  }

  /**
   * Called by the stream loop (no message being handled): low watermark, chunk read, high watermark. A
   * table without rows left is completed at once; the snapshot completes after its last table.
   */
  async readChunk(): Promise<void> {
    const record = this.record;
    if (!record) return;
    for (;;) {
      const table = record.tables.find((t) => t.state === 'pending' || t.state === 'running');
      if (!table) {
        if (this.record !== record || !this.active) return;
        record.state = 'completed';
        record.finishedAt = Date.now();
        await this.persist(record);
        this.deps.logger.info(
          { snapshot: record.id, rows: record.tables.reduce((n, t) => n + t.rowsEmitted, 0) },
          'incremental snapshot completed',
        );
        return;
      }
      // StopIncrementalSnapshot may come while this awaits: each step checks the table is still wanted.
      const live = () => this.record === record && (table.state === 'pending' || table.state === 'running');
      const info = await this.deps.catalog.tableInfo(table.relationOid, this.deps.publication);
      if (!live()) return;
      if (!info) return this.failWith(record, `table ${table.table} no longer exists`);
      if (info.primaryKey.length === 0) return this.failWith(record, `table ${table.table} has no primary key`);
      record.state = 'running';
      record.startedAt ??= Date.now();
      try {
        if (table.state === 'pending') {
          table.state = 'running';
          const maxKey = (await this.deps.reader.maxKey(info, table.condition)) ?? null;
          if (!live()) return;
          table.maxKey = maxKey;
          if (!table.maxKey) {
            table.state = 'completed';
            await this.persist(record);
            continue;
          }
          await this.persist(record);
        }
        const watermark = `${record.id}:${randomUUID()}`;
        await this.watermark(watermark, 'open');
        const maxKey = table.maxKey;
        if (!maxKey) throw new Error(`${table.table}: snapshot progress without its greatest key`);
        const rows = await this.deps.reader.chunk(info, table.lastKey, maxKey, record.chunkSize, table.condition);
        await this.watermark(watermark, 'close');
        const captured = capturedTable(
          info.relationOid,
          info.schema,
          info.table,
          info.columns.map((c) => ({ isKey: false, name: c.name, typeOid: c.typeOid, typeMod: c.typeMod })),
          info.primaryKey,
        );
        const keyIndexes = info.primaryKey.map((name) => info.columns.findIndex((c) => c.name === name));
        const chunk: Chunk = {
          watermark,
          table,
          captured,
          open: false,
          rows: new Map(),
          lastKey: rows.length > 0 ? keyIndexes.map((i) => rows[rows.length - 1][i] ?? '') : table.lastKey,
          last: rows.length < record.chunkSize,
        };
        for (const text of rows) {
          const row = this.deps.mapper.row(
            captured,
            text.map((v) => (v === null ? { kind: 'null' as const } : { kind: 'text' as const, value: v })),
          );
          chunk.rows.set(bufferKey(captured.topic.key.encode(this.deps.mapper.key(captured, row) ?? {})), row);
        }
        // Stopped (or replaced) while reading: the chunk is not emitted.
        if (!live()) return;
        this.chunk = chunk;
        return;
      } catch (error) {
        // A persisted condition outside the grammar (written before it was checked) is final too.
        if (error instanceof ConditionError) return this.failWith(record, `${table.table}: additional condition: ${error.message}`);
        const code = (error as { code?: string }).code ?? '';
        // SQL errors of the chunk query itself (syntax, undefined column: a bad additional condition) are final.
        if (code.startsWith('42') || code.startsWith('22')) return this.failWith(record, `${table.table}: ${(error as Error).message}`);
        throw error;
      }
    }
  }

  private async watermark(id: string, kind: 'open' | 'close'): Promise<Lsn> {
    return this.deps.catalog.emitMessage(WATERMARK_PREFIX, JSON.stringify({ slot: this.deps.slot, id, kind }));
  }

  /** A watermark message reached the stream: 'close' when the chunk's window closes (emit it now). */
  watermarkReached(content: Buffer): 'open' | 'close' | undefined {
    const chunk = this.chunk;
    if (!chunk) return undefined;
    let message: { slot?: string; id?: string; kind?: string };
    try {
      message = JSON.parse(content.toString('utf8'));
    } catch {
      return undefined;
    }
    if (message.slot !== this.deps.slot || message.id !== chunk.watermark) return undefined;
    if (message.kind === 'open') {
      chunk.open = true;
      return 'open';
    }
    return message.kind === 'close' && chunk.open ? 'close' : undefined;
  }

  /** A streamed record: inside an open window, its key leaves the chunk. */
  touched(record: EncodedRecord): void {
    const chunk = this.chunk;
    if (chunk?.open && record.topic.name === chunk.captured.topic.name) chunk.rows.delete(bufferKey(record.key));
  }

  /** Closes the window: the chunk's remaining rows as read events, at the high watermark's position. */
  closeWindow(position: Omit<EventPosition, 'snapshot' | 'transaction'>): ClosedChunk {
    const chunk = this.chunk;
    if (!chunk) return { chunk: undefined, records: [] };
    const records = [...chunk.rows.values()].map((row) => {
      // Counted by chunkEmitted, not as the watermark transaction's changes.
      const encoded = encodeRecord(this.deps.mapper.read(chunk.captured, row, { ...position, snapshot: 'incremental' }));
      return { ...encoded, stats: undefined };
    });
    return { chunk, records };
  }

  /** The closing records are on Kafka: progress moves on and is persisted. */
  async chunkEmitted({ chunk, records }: ClosedChunk): Promise<void> {
    if (!chunk) return;
    const { table } = chunk;
    table.rowsEmitted += records.length;
    table.chunks++;
    table.lastKey = chunk.lastKey;
    if (chunk.last && table.state === 'running') table.state = 'completed';
    if (this.chunk === chunk) this.chunk = undefined;
    if (this.record) await this.persist(this.record);
    if (records.length > 0) this.deps.emitted(table.table, records.length);
  }

  /** The snapshot as GetSnapshotStatus shows it; PAUSED while capture is paused. */
  toProto(record: IncrementalSnapshotRecord, capturePaused: boolean): cdcV1.Snapshot {
    const state = (s: SnapshotStateName) =>
      capturePaused && (s === 'running' || s === 'pending') ? cdcV1.SnapshotState.SNAPSHOT_STATE_PAUSED : STATE_TO_PROTO[s];
    const ts = (ms?: number) => (ms === undefined ? undefined : { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 });
    return {
      id: record.id,
      state: state(record.state),
      chunkSize: record.chunkSize,
      tables: record.tables.map((t) => ({
        table: t.table,
        state: state(t.state),
        additionalCondition: t.condition,
        rowsEmitted: t.rowsEmitted,
        rowsEstimated: t.rowsEstimated,
        chunksCompleted: t.chunks,
      })),
      createdAt: ts(record.createdAt),
      startedAt: ts(record.startedAt),
      finishedAt: ts(record.finishedAt),
      error: record.error,
    };
  }
}
