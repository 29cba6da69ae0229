import { randomUUID } from 'node:crypto';
import { join, sep } from 'node:path';
import { LakeEngine, sqlIdent, sqlString } from '../engine/duckdb.engine';
import type { LakeStorage } from '../storage/lake-storage';
import { type Action, type AddAction, type CommitInfo, logKey, serializeActions, type TxnAction } from './actions';
import { checkpoint } from './checkpoint';
import type { ColumnBatch } from './column-batch';
import { type CopyStats, decodePath, encodePathSegment, fileStats, STAGING } from './data-files';
import { DeltaTableNotFoundError } from './errors';
import { scanSql } from './scan';
import { history, type HistoryEntry, loadState, readCommitInfo, refresh, snapshotAt, tableExists, versionAt } from './snapshot';
import { DEFAULT_RETENTION_MS, retentionMs, targetFileSize } from './table-config';
import type { TableContext } from './table-context';
import { type DeltaSnapshot, TableState } from './table-state';
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

export interface TableOptions {
  /** DuckDB engine for Parquet; the process-wide one when absent. */
  engine?: LakeEngine;
  /** Called with problems that do not fail the operation (a checkpoint that could not be written). */
  onWarning?: (message: string, error: unknown) => void;
}

export interface CompactOptions {
  /** Target size of rewritten files, bytes; the table's `pulse.targetFileSize` (default 128 MiB) when absent. */
  targetFileSize?: number;
  /** Only partitions for which this returns true. */
  partitionFilter?: (partitionValues: Record<string, string | null>) => boolean;
  /** Operation parameter recorded as the predicate. */
  predicate?: string;
}

export interface CompactResult {
  version: number | null;
  filesAdded: number;
  filesRemoved: number;
  bytesAdded: number;
  bytesRemoved: number;
}

export interface VacuumOptions {
  /** Keep removed files newer than this; the table's `delta.deletedFileRetentionDuration` (7 days) when absent. */
  retentionMs?: number;
  dryRun?: boolean;
  /** Current time; for tests of retention. */
  nowMs?: number;
}

export interface VacuumResult {
  dryRun: boolean;
  deleted: { key: string; size: number }[];
}

export { scanSql } from './scan';
export type { HistoryEntry } from './snapshot';
export type { CommitOptions, CreateTableOptions, WriteResult } from './write';

let sharedEngine: Promise<LakeEngine> | undefined;
/** The process-wide DuckDB engine used by tables opened without one. */
export function defaultLakeEngine(): Promise<LakeEngine> {
  sharedEngine ??= LakeEngine.create();
  return sharedEngine;
}

/**
 * A Delta Lake table: the transaction log is read and written here, following the Delta protocol
 * (reader 1 / writer 2), and DuckDB writes the zstd Parquet data files and checkpoints. Every
 * change is one atomic log commit, written put-if-absent at the next version; a writer that loses the
 * race re-reads the winning commits and retries when they do not conflict with its own (blind appends
 * never do; the same application transaction or the removal of the same file does).
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

  /** Every commit's commitInfo, newest first (Delta's DESCRIBE HISTORY). */
  history(limit = Number.POSITIVE_INFINITY): Promise<HistoryEntry[]> {
    return history(this.context, limit);
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
  async compact(options: CompactOptions = {}): Promise<CompactResult> {
    const snapshot = await this.refresh();
    const target = options.targetFileSize ?? targetFileSize(snapshot);
    const byPartition = new Map<string, AddAction[]>();
    for (const file of snapshot.files) {
      if (options.partitionFilter && !options.partitionFilter(file.partitionValues)) continue;
      if (file.size >= target && file.path.endsWith('.zstd.parquet')) continue;
      const key = JSON.stringify(snapshot.partitionColumns.map((p) => file.partitionValues[p] ?? null));
      byPartition.set(key, [...(byPartition.get(key) ?? []), file]);
    }
    const bins: AddAction[][] = [];
    for (const files of byPartition.values()) {
      files.sort((a, b) => a.size - b.size);
      let bin: AddAction[] = [];
      let size = 0;
      for (const f of files) {
        if (bin.length > 0 && size + f.size > target) {
          bins.push(bin);
          bin = [];
          size = 0;
        }
        bin.push(f);
        size += f.size;
      }
      if (bin.length > 0) bins.push(bin);
    }
    const rewrite = bins.filter((b) => b.length > 1 || !b[0].path.endsWith('.zstd.parquet'));
    if (rewrite.length === 0) return { version: null, filesAdded: 0, filesRemoved: 0, bytesAdded: 0, bytesRemoved: 0 };
    const added: AddAction[] = [];
    const removed: AddAction[] = [];
    try {
      for (const bin of rewrite) {
        added.push(...(await this.rewriteBin(snapshot, bin, target)));
        removed.push(...bin);
      }
      const now = Date.now();
      const bytesAdded = added.reduce((s, f) => s + f.size, 0);
      const bytesRemoved = removed.reduce((s, f) => s + f.size, 0);
      const version = await this.commit(
        [
          ...added.map((add) => ({ add })),
          ...removed.map((f) => ({
            remove: {
              path: f.path,
              deletionTimestamp: now,
              dataChange: false,
              extendedFileMetadata: true,
              partitionValues: f.partitionValues,
              size: f.size,
            },
          })),
        ],
        {
          operation: 'OPTIMIZE',
          operationParameters: { predicate: JSON.stringify(options.predicate ? [options.predicate] : []), zOrderBy: '[]' },
          operationMetrics: {
            numAddedFiles: String(added.length),
            numRemovedFiles: String(removed.length),
            numAddedBytes: String(bytesAdded),
            numRemovedBytes: String(bytesRemoved),
          },
        },
      );
      return { version, filesAdded: added.length, filesRemoved: removed.length, bytesAdded, bytesRemoved };
    } catch (error) {
      await this.discard(added).catch(() => undefined);
      throw error;
    }
  }

  private async rewriteBin(snapshot: DeltaSnapshot, bin: AddAction[], target: number): Promise<AddAction[]> {
    const partitionValues = bin[0].partitionValues;
    const partitionDir = snapshot.partitionColumns.map((p) => `${p}=${partitionValues[p] ?? '__HIVE_DEFAULT_PARTITION__'}`).join('/');
    const stagingKey = `${this.path}/${STAGING}/${randomUUID()}`;
    const dir = await this.storage.stagingDir(stagingKey);
    try {
      const paths = await Promise.all(bin.map((f) => this.storage.localPath(`${this.path}/${decodePath(f.path)}`)));
      const dataColumns = snapshot.schema.filter((c) => !snapshot.partitionColumns.includes(c.name)).map((c) => sqlIdent(c.name));
      const written = await this.context.engine.query<CopyStats>(
        `COPY (SELECT ${dataColumns.join(', ')} FROM read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true)) ` +
          `TO ${sqlString(join(dir, 'out'))} (FORMAT parquet, COMPRESSION zstd, RETURN_STATS, FILENAME_PATTERN 'part-{uuid}.zstd', FILE_SIZE_BYTES ${target})`,
      );
      const now = Date.now();
      const out: AddAction[] = [];
      for (const file of written) {
        const name = file.filename.split(sep).pop()!;
        const rel = partitionDir ? `${partitionDir}/${name}` : name;
        await this.storage.publishStaged(file.filename, `${this.path}/${rel}`);
        out.push({
          path: rel.split('/').map(encodePathSegment).join('/'),
          partitionValues,
          size: Number(file.file_size_bytes),
          modificationTime: now,
          dataChange: false,
          stats: JSON.stringify(fileStats(snapshot.schema, snapshot.partitionColumns, Number(file.count), file.column_statistics ?? [])),
        });
      }
      return out;
    } finally {
      await this.storage.dropStaging(stagingKey);
    }
  }

  /**
   * Deletes data files that no version newer than the retention period needs: files removed longer
   * ago than the retention, and files never committed (a crashed writer's) older than it. Logged as
   * VACUUM START / VACUUM END commits, as Delta does.
   */
  async vacuum(options: VacuumOptions = {}): Promise<VacuumResult> {
    const snapshot = await this.refresh();
    const now = options.nowMs ?? Date.now();
    const retention = options.retentionMs ?? retentionMs(snapshot);
    const live = new Set(snapshot.files.map((f) => decodePath(f.path)));
    const tombstones = new Map(snapshot.tombstones.map((t) => [decodePath(t.path), t]));
    const candidates: { key: string; size: number }[] = [];
    for (const object of await this.storage.list(`${this.path}/`)) {
      const rel = object.key.slice(this.path.length + 1);
      if (rel.startsWith('_delta_log/')) continue;
      const staging = rel.startsWith(`${STAGING}/`);
      if (!staging && rel.split('/').some((segment) => segment.startsWith('_') || segment.startsWith('.'))) continue;
      if (live.has(rel)) continue;
      const removedAt = tombstones.get(rel)?.deletionTimestamp ?? object.modifiedMs;
      if (removedAt < now - retention) candidates.push({ key: object.key, size: object.size });
    }
    if (options.dryRun) return { dryRun: true, deleted: candidates };
    await this.commit([], {
      operation: 'VACUUM START',
      operationParameters: {
        retentionCheckEnabled: 'true',
        specifiedRetentionMillis: String(retention),
        defaultRetentionMillis: String(DEFAULT_RETENTION_MS),
      },
      operationMetrics: {
        numFilesToDelete: String(candidates.length),
        sizeOfDataToDelete: String(candidates.reduce((s, c) => s + c.size, 0)),
      },
    });
    await this.storage.delete(candidates.map((c) => c.key));
    await this.commit([], {
      operation: 'VACUUM END',
      operationParameters: { status: 'COMPLETED' },
      operationMetrics: { numDeletedFiles: String(candidates.length), numVacuumedDirectories: '0' },
    });
    return { dryRun: false, deleted: candidates };
  }

  /** Writes a Parquet checkpoint of the current version and points `_last_checkpoint` at it. */
  checkpoint(): Promise<number> {
    return checkpoint(this.context);
  }
}
