import { LakeEngine } from '../engine/duckdb.engine';
import type { LakeStorage } from '../storage/lake-storage';
import { type Action, type AddAction, type CommitInfo, logKey, serializeActions, type TxnAction } from './actions';
import { checkpoint } from './checkpoint';
import type { ColumnBatch } from './column-batch';
import { DeltaTableNotFoundError } from './errors';
import { compact, type CompactOptions, type CompactResult } from './optimize';
import { scanSql } from './scan';
import { history, type HistoryEntry, loadState, readCommitInfo, refresh, snapshotAt, tableExists, versionAt } from './snapshot';
import type { TableContext } from './table-context';
import { type DeltaSnapshot, TableState } from './table-state';
import { vacuum, type VacuumOptions, type VacuumResult } from './vacuum';
import {
  appendBatch,
  appendFrom,
  appendRows,
  checkCreatedAs,
  type CommitOptions,
  commit,
  type CreateTableOptions,
  createTableActions,
  discard,
  type WriteResult,
  writeFiles,
} from './write';

export type { CompactOptions, CompactResult } from './optimize';
export { scanSql } from './scan';
export type { HistoryEntry } from './snapshot';
export type { VacuumOptions, VacuumResult } from './vacuum';
export type { CommitOptions, CreateTableOptions, WriteResult } from './write';

export interface TableOptions {
  /** DuckDB engine for Parquet; the process-wide one when absent. */
  engine?: LakeEngine;
  /** Called with problems that do not fail the operation (a checkpoint that could not be written). */
  onWarning?: (message: string, error: unknown) => void;
}

let sharedEngine: Promise<LakeEngine> | undefined;
/** The process-wide DuckDB engine used by tables opened without one. */
export function defaultLakeEngine(): Promise<LakeEngine> {
  sharedEngine ??= LakeEngine.create();
  return sharedEngine;
}

/**
 * A Delta Lake table: the transaction log is read and written following the Delta protocol
 * (reader 1 / writer 2), and DuckDB writes the zstd Parquet data files and checkpoints. Every
 * change is one atomic log commit, written put-if-absent at the next version; a writer that loses the
 * race re-reads the winning commits and retries when they do not conflict with its own (blind appends
 * never do; the same application transaction or the removal of the same file does).
 *
 * The entry point of the table's operations, each in its own module working on the table's context:
 * `snapshot` (log replay, time travel, history), `write` (create, append, commit), `optimize`,
 * `vacuum` and `checkpoint` (with log cleanup).
 */
export class DeltaTable {
  private readonly context: TableContext;

  private constructor(
    readonly storage: LakeStorage,
    /** Key of the table's root in the storage, e.g. `bronze/activity`. */
    readonly path: string,
    engine: LakeEngine,
    state: TableState,
    onWarning: (message: string, error: unknown) => void,
  ) {
    this.context = { storage, path, location: `${storage.location.replace(/\/$/, '')}/${path}`, engine, onWarning, state };
  }

  get location(): string {
    return this.context.location;
  }

  /** Opens an existing table at its latest version. */
  static async open(storage: LakeStorage, path: string, options: TableOptions = {}): Promise<DeltaTable> {
    const engine = options.engine ?? (await defaultLakeEngine());
    const state = await loadState(storage, engine, path, Number.POSITIVE_INFINITY);
    if (state.version < 0) throw new DeltaTableNotFoundError(`${storage.location}/${path}`);
    return new DeltaTable(storage, path, engine, state, options.onWarning ?? (() => undefined));
  }

  /** True when a Delta table exists at the path. */
  static exists(storage: LakeStorage, path: string): Promise<boolean> {
    return tableExists(storage, path);
  }

  /**
   * Creates a table (version 0: protocol + metaData). When one exists already it is opened instead,
   * provided its schema and partitioning equal the requested ones; otherwise this throws.
   */
  static async create(storage: LakeStorage, path: string, create: CreateTableOptions, options: TableOptions = {}): Promise<DeltaTable> {
    const version0 = createTableActions(create);
    if (!(await DeltaTable.exists(storage, path))) await storage.putIfAbsent(logKey(path, 0), serializeActions(version0));
    const table = await DeltaTable.open(storage, path, options);
    checkCreatedAs(table.context.state.metadata!, create, table.location);
    return table;
  }

  /** The latest version known to this handle (call `refresh` to read newer commits). */
  get version(): number {
    return this.context.state.version;
  }

  snapshot(): DeltaSnapshot {
    return this.context.state.snapshot();
  }

  /** Reads commits written since this handle last looked (by other writers) and returns the latest snapshot. */
  refresh(): Promise<DeltaSnapshot> {
    return refresh(this.context);
  }

  /** The table as of a version (time travel). */
  snapshotAt(version: number): Promise<DeltaSnapshot> {
    return snapshotAt(this.context, version);
  }

  /** The latest version committed at or before a time (time travel by timestamp). */
  versionAt(timestampMs: number): Promise<number> {
    return versionAt(this.context, timestampMs);
  }

  /** Every commit's commitInfo, newest first (Delta's DESCRIBE HISTORY); from `fromVersion` down when given (paging). */
  history(limit = Number.POSITIVE_INFINITY, fromVersion?: number): Promise<HistoryEntry[]> {
    return history(this.context, limit, fromVersion);
  }

  /** The commitInfo of one version, or null when its log file is gone. */
  commitInfo(version: number): Promise<CommitInfo | null> {
    return readCommitInfo(this.storage, this.path, version);
  }

  /**
   * Commits actions as the next version. Application transactions must be above the versions the
   * table holds (`DeltaTxnReplayError` otherwise, nothing written); a concurrent commit of the same
   * transaction or removing the same files raises `DeltaConflictError`; others are retried past.
   */
  commit(actions: readonly Action[], options: CommitOptions): Promise<number> {
    return commit(this.context, actions, options);
  }

  /**
   * Writes the rows of a DuckDB query as zstd Parquet files (one per partition value) into the table's
   * directory, uncommitted: the caller commits the returned add actions (or `discard`s them).
   */
  writeFiles(sourceSql: string): Promise<{ files: AddAction[]; rows: number }> {
    return writeFiles(this.context, sourceSql);
  }

  /** Deletes data files written by `writeFiles` that were never committed. */
  discard(files: readonly AddAction[]): Promise<void> {
    return discard(this.context, files);
  }

  /**
   * Appends the rows of a DuckDB query in one commit, with optional application transactions (a
   * stream's offsets). A replayed or concurrently committed transaction deletes the written files and
   * rethrows, so nothing is written twice.
   */
  appendFrom(sourceSql: string, options: Partial<CommitOptions> & { txns?: TxnAction[] } = {}): Promise<WriteResult> {
    return appendFrom(this.context, sourceSql, options);
  }

  /** Appends a column batch in one commit (the fast path for streams); see `appendFrom`. */
  appendBatch(batch: ColumnBatch, options: Partial<CommitOptions> & { txns?: TxnAction[] } = {}): Promise<WriteResult> {
    return appendBatch(this.context, batch, options);
  }

  /** Appends JSON-like rows (timestamps as Date, ms or ISO strings) in one commit. */
  append(rows: readonly Record<string, unknown>[], options: Partial<CommitOptions> & { txns?: TxnAction[] } = {}): Promise<WriteResult> {
    return appendRows(this.context, rows, options);
  }

  /**
   * A DuckDB table expression over a snapshot's files, partition columns included, e.g.
   * `SELECT count(*) FROM ${await table.scanSql()}`.
   */
  async scanSql(snapshot: DeltaSnapshot = this.snapshot()): Promise<string> {
    return scanSql(this.storage, this.path, snapshot);
  }

  /**
   * Bin-packs the files smaller than the target size (and any not written as zstd) of each partition
   * into target-size zstd files: one OPTIMIZE commit of add + remove with dataChange=false, so
   * streaming readers of the table see no new data.
   */
  compact(options: CompactOptions = {}): Promise<CompactResult> {
    return compact(this.context, options);
  }

  /**
   * Deletes data files that no version newer than the retention period needs: files removed longer
   * ago than the retention, and files never committed (a crashed writer's) older than it. Logged as
   * VACUUM START / VACUUM END commits, as Delta does.
   */
  vacuum(options: VacuumOptions = {}): Promise<VacuumResult> {
    return vacuum(this.context, options);
  }

  /** Writes a Parquet checkpoint of the current version and points `_last_checkpoint` at it. */
  checkpoint(): Promise<number> {
    return checkpoint(this.context);
  }
}
