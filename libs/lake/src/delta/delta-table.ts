import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { LakeEngine, sqlIdent, sqlString } from '../engine/duckdb.engine';
import type { LakeStorage } from '../storage/lake-storage';
import {
  type Action,
  type AddAction,
  checkpointKey,
  type CommitInfo,
  type DeltaColumn,
  duckdbType,
  ENGINE_INFO,
  lastCheckpointKey,
  logKey,
  parseActions,
  type RemoveAction,
  schemaString,
  serializeActions,
  type TxnAction,
} from './actions';
import type { ColumnBatch } from './column-batch';
import { DeltaConflictError, DeltaTableNotFoundError, DeltaTxnReplayError } from './errors';
import { type DeltaSnapshot, TableState } from './table-state';

export interface CreateTableOptions {
  columns: readonly DeltaColumn[];
  partitionColumns?: readonly string[];
  name?: string;
  description?: string;
  /** Table properties, e.g. `delta.checkpointInterval`, `delta.deletedFileRetentionDuration`. */
  configuration?: Record<string, string>;
}

export interface TableOptions {
  /** DuckDB engine for Parquet; the process-wide one when absent. */
  engine?: LakeEngine;
  /** Called with problems that do not fail the operation (a checkpoint that could not be written). */
  onWarning?: (message: string, error: unknown) => void;
}

export interface CommitOptions {
  operation: string;
  operationParameters?: Record<string, string>;
  operationMetrics?: Record<string, string>;
  isBlindAppend?: boolean;
  /** Extra commitInfo fields (e.g. a stream's checkpoint). */
  info?: Record<string, unknown>;
  /** Attempts at successive log versions before giving up; default 50. */
  maxAttempts?: number;
}

export interface WriteResult {
  version: number;
  files: AddAction[];
  rows: number;
}

export interface HistoryEntry {
  version: number;
  timestamp: number;
  operation: string;
  operationParameters: Record<string, string>;
  operationMetrics: Record<string, string>;
  readVersion?: number;
  isBlindAppend?: boolean;
  info: CommitInfo;
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

const DEFAULT_CHECKPOINT_INTERVAL = 10;
const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;
const DEFAULT_LOG_RETENTION_MS = 30 * 24 * 3600 * 1000;
const DEFAULT_TARGET_FILE_SIZE = 128 * 1024 * 1024;
const STAGING = '_pulse_staging';

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
  private state: TableState;

  private constructor(
    readonly storage: LakeStorage,
    /** Key of the table's root in the storage, e.g. `bronze/activity`. */
    readonly path: string,
    private readonly engine: LakeEngine,
    state: TableState,
    private readonly onWarning: (message: string, error: unknown) => void,
  ) {
    this.state = state;
  }

  get location(): string {
    return `${this.storage.location.replace(/\/$/, '')}/${this.path}`;
  }

  /** Opens an existing table at its latest version. */
  static async open(storage: LakeStorage, path: string, options: TableOptions = {}): Promise<DeltaTable> {
    const engine = options.engine ?? (await defaultLakeEngine());
    const state = await loadState(storage, engine, path, Number.POSITIVE_INFINITY);
    if (state.version < 0) throw new DeltaTableNotFoundError(`${storage.location}/${path}`);
    return new DeltaTable(storage, path, engine, state, options.onWarning ?? (() => undefined));
  }

  /** True when a Delta table exists at the path. */
  static async exists(storage: LakeStorage, path: string): Promise<boolean> {
    // Version 0's commit, or a checkpoint once log cleanup removed the early commits.
    return (await storage.read(logKey(path, 0))) !== null || (await storage.read(lastCheckpointKey(path))) !== null;
  }

  /**
   * Creates a table (version 0: protocol + metaData). When one exists already it is opened instead,
   * provided its schema and partitioning equal the requested ones; otherwise this throws.
   */
  static async create(storage: LakeStorage, path: string, create: CreateTableOptions, options: TableOptions = {}): Promise<DeltaTable> {
    const partitionColumns = [...(create.partitionColumns ?? [])];
    for (const p of partitionColumns) {
      const column = create.columns.find((c) => c.name === p);
      if (!column) throw new Error(`partition column ${p} is not a column`);
      if (column.type === 'map<string,string>' || column.type === 'timestamp' || column.type === 'double') {
        throw new Error(`partition column ${p} cannot be of type ${column.type}`);
      }
    }
    const schema = schemaString(create.columns);
    const now = Date.now();
    const actions: Action[] = [
      {
        commitInfo: {
          timestamp: now,
          operation: 'CREATE TABLE',
          operationParameters: { partitionBy: JSON.stringify(partitionColumns), description: create.description ?? '' },
          isBlindAppend: true,
          engineInfo: ENGINE_INFO,
        },
      },
      { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
      {
        metaData: {
          id: randomUUID(),
          name: create.name ?? null,
          description: create.description ?? null,
          format: { provider: 'parquet', options: {} },
          schemaString: schema,
          partitionColumns,
          configuration: create.configuration ?? {},
          createdTime: now,
        },
      },
    ];
    if (!(await DeltaTable.exists(storage, path))) await storage.putIfAbsent(logKey(path, 0), serializeActions(actions));
    const table = await DeltaTable.open(storage, path, options);
    const existing = table.state.metadata!;
    if (existing.schemaString !== schema || JSON.stringify(existing.partitionColumns) !== JSON.stringify(partitionColumns)) {
      throw new Error(`a Delta table with another schema or partitioning exists at ${table.location}`);
    }
    return table;
  }

  /** The latest version known to this handle (call `refresh` to read newer commits). */
  get version(): number {
    return this.state.version;
  }

  snapshot(): DeltaSnapshot {
    return this.state.snapshot();
  }

  /** Reads commits written since this handle last looked (by other writers) and returns the latest snapshot. */
  async refresh(): Promise<DeltaSnapshot> {
    const next = this.state.clone();
    await advance(this.storage, this.path, next, Number.POSITIVE_INFINITY);
    this.state = next;
    return next.snapshot();
  }

  /** The table as of a version (time travel). */
  async snapshotAt(version: number): Promise<DeltaSnapshot> {
    if (!Number.isInteger(version) || version < 0) throw new RangeError(`version must be a non-negative integer, got ${version}`);
    if (version === this.state.version) return this.snapshot();
    const state = await loadState(this.storage, this.engine, this.path, version);
    if (state.version !== version) throw new RangeError(`version ${version} of ${this.location} does not exist (latest ${state.version})`);
    return state.snapshot();
  }

  /** The latest version committed at or before a time (time travel by timestamp). */
  async versionAt(timestampMs: number): Promise<number> {
    const history = await this.history();
    const match = history.filter((h) => h.timestamp <= timestampMs).sort((a, b) => b.version - a.version)[0];
    if (!match) throw new RangeError(`${new Date(timestampMs).toISOString()} is before the first commit of ${this.location}`);
    return match.version;
  }

  /** Every commit's commitInfo, newest first (Delta's DESCRIBE HISTORY); from `fromVersion` down when given (paging). */
  async history(limit = Number.POSITIVE_INFINITY, fromVersion?: number): Promise<HistoryEntry[]> {
    await this.refresh();
    const out: HistoryEntry[] = [];
    for (let v = Math.min(fromVersion ?? this.state.version, this.state.version); v >= 0 && out.length < limit; v--) {
      const text = await this.storage.read(logKey(this.path, v));
      if (text === null) break; // cleaned up before a checkpoint
      const info = parseActions(text.toString('utf8')).find((a): a is { commitInfo: CommitInfo } => 'commitInfo' in a)?.commitInfo;
      if (!info) continue;
      out.push({
        version: v,
        timestamp: info.timestamp,
        operation: info.operation,
        operationParameters: info.operationParameters ?? {},
        operationMetrics: info.operationMetrics ?? {},
        readVersion: info.readVersion,
        isBlindAppend: info.isBlindAppend,
        info,
      });
    }
    return out;
  }

  /** The commitInfo of one version, or null when its log file is gone. */
  async commitInfo(version: number): Promise<CommitInfo | null> {
    const text = await this.storage.read(logKey(this.path, version));
    if (text === null) return null;
    return parseActions(text.toString('utf8')).find((a): a is { commitInfo: CommitInfo } => 'commitInfo' in a)?.commitInfo ?? null;
  }

  /**
   * Commits actions as the next version. Application transactions must be above the versions the
   * table holds (`DeltaTxnReplayError` otherwise, nothing written); a concurrent commit of the same
   * transaction or removing the same files raises `DeltaConflictError`; others are retried past.
   */
  async commit(actions: readonly Action[], options: CommitOptions): Promise<number> {
    const txns = actions.filter((a): a is { txn: TxnAction } => 'txn' in a).map((a) => a.txn);
    const removes = new Set(actions.filter((a): a is { remove: RemoveAction } => 'remove' in a).map((a) => a.remove.path));
    const readVersion = this.state.version;
    checkTxns(this.state, txns);
    const maxAttempts = options.maxAttempts ?? 50;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const version = this.state.version + 1;
      const info: CommitInfo = {
        timestamp: Date.now(),
        operation: options.operation,
        operationParameters: options.operationParameters ?? {},
        readVersion,
        isBlindAppend: options.isBlindAppend ?? false,
        ...(options.operationMetrics ? { operationMetrics: options.operationMetrics } : {}),
        engineInfo: ENGINE_INFO,
        txnId: randomUUID(),
        ...(options.info ?? {}),
      };
      const all: Action[] = [{ commitInfo: info }, ...actions];
      if (await this.storage.putIfAbsent(logKey(this.path, version), serializeActions(all))) {
        const next = this.state.clone();
        next.apply(version, all);
        this.state = next;
        await this.maybeCheckpoint(version);
        return version;
      }
      // Lost the race for this version: look at what won and decide.
      const text = await this.storage.read(logKey(this.path, version));
      if (text === null) throw new Error(`log version ${version} of ${this.location} refused but unreadable`);
      const winning = parseActions(text.toString('utf8'));
      for (const action of winning) {
        if ('metaData' in action || 'protocol' in action) {
          throw new DeltaConflictError(`version ${version} changed the table's metadata or protocol`, 'metadata', version);
        }
        if ('txn' in action && txns.some((t) => t.appId === action.txn.appId)) {
          throw new DeltaConflictError(`version ${version} committed transaction ${action.txn.appId} concurrently`, 'transaction', version);
        }
        if ('remove' in action && removes.has(action.remove.path)) {
          throw new DeltaConflictError(`version ${version} removed ${action.remove.path} concurrently`, 'delete', version);
        }
      }
      const next = this.state.clone();
      next.apply(version, winning);
      this.state = next;
    }
    throw new Error(`gave up committing to ${this.location} after ${maxAttempts} concurrent commits`);
  }

  /**
   * Writes the rows of a DuckDB query as zstd Parquet files (one per partition value) into the table's
   * directory, uncommitted: the caller commits the returned add actions (or `discard`s them).
   */
  async writeFiles(sourceSql: string): Promise<{ files: AddAction[]; rows: number }> {
    const snapshot = this.snapshot();
    const partitions = snapshot.partitionColumns;
    const stagingKey = `${this.path}/${STAGING}/${randomUUID()}`;
    const dir = await this.storage.stagingDir(stagingKey);
    try {
      const options = ['FORMAT parquet', 'COMPRESSION zstd', 'RETURN_STATS', "FILENAME_PATTERN 'part-{uuid}.zstd'"];
      if (partitions.length > 0) options.push(`PARTITION_BY (${partitions.map(sqlIdent).join(', ')})`);
      else options.push(`FILE_SIZE_BYTES ${targetFileSize(snapshot)}`);
      const written = await this.engine.query<CopyStats>(`COPY (${sourceSql}) TO ${sqlString(join(dir, 'out'))} (${options.join(', ')})`);
      const files: AddAction[] = [];
      let rows = 0;
      const now = Date.now();
      for (const file of written) {
        const rel = relative(join(dir, 'out'), file.filename).split(sep).join('/');
        const key = `${this.path}/${rel}`;
        await this.storage.publishStaged(file.filename, key);
        const partitionValues: Record<string, string | null> = {};
        for (const p of partitions) partitionValues[p] = null;
        for (const kv of file.partition_keys ?? []) partitionValues[kv.key] = kv.value === 'NULL' || kv.value === null ? null : kv.value;
        const count = Number(file.count);
        rows += count;
        files.push({
          path: rel.split('/').map(encodePathSegment).join('/'),
          partitionValues,
          size: Number(file.file_size_bytes),
          modificationTime: now,
          dataChange: true,
          stats: JSON.stringify(fileStats(snapshot.schema, partitions, count, file.column_statistics ?? [])),
        });
      }
      return { files, rows };
    } finally {
      await this.storage.dropStaging(stagingKey);
    }
  }

  /** Deletes data files written by `writeFiles` that were never committed. */
  async discard(files: readonly AddAction[]): Promise<void> {
    await this.storage.delete(files.map((f) => `${this.path}/${decodePath(f.path)}`));
  }

  /**
   * Appends the rows of a DuckDB query in one commit, with optional application transactions (a
   * stream's offsets). A replayed or concurrently committed transaction deletes the written files and
   * rethrows, so nothing is written twice.
   */
  async appendFrom(sourceSql: string, options: Partial<CommitOptions> & { txns?: TxnAction[] } = {}): Promise<WriteResult> {
    checkTxns(this.state, options.txns ?? []);
    const { files, rows } = await this.writeFiles(sourceSql);
    const now = Date.now();
    const actions: Action[] = [
      ...(options.txns ?? []).map((t) => ({ txn: { ...t, lastUpdated: t.lastUpdated ?? now } })),
      ...files.map((add) => ({ add })),
    ];
    try {
      const version = await this.commit(actions, {
        operation: options.operation ?? 'WRITE',
        operationParameters: options.operationParameters ?? {
          mode: 'Append',
          partitionBy: JSON.stringify(this.snapshot().partitionColumns),
        },
        operationMetrics: {
          numFiles: String(files.length),
          numOutputRows: String(rows),
          numOutputBytes: String(files.reduce((s, f) => s + f.size, 0)),
          ...(options.operationMetrics ?? {}),
        },
        isBlindAppend: true,
        info: options.info,
        maxAttempts: options.maxAttempts,
      });
      return { version, files, rows };
    } catch (error) {
      await this.discard(files).catch(() => undefined);
      throw error;
    }
  }

  /** Appends a column batch in one commit (the fast path for streams); see `appendFrom`. */
  async appendBatch(batch: ColumnBatch, options: Partial<CommitOptions> & { txns?: TxnAction[] } = {}): Promise<WriteResult> {
    checkTxns(this.state, options.txns ?? []);
    const name = `pulse_batch_${randomUUID().replace(/-/g, '')}`;
    const connection = await this.engine.connect();
    try {
      await batch.load(connection, name);
      return await this.appendFrom(`SELECT * FROM ${sqlIdent(name)}`, options);
    } finally {
      await connection.run(`DROP TABLE IF EXISTS ${sqlIdent(name)}`).catch(() => undefined);
      connection.closeSync();
    }
  }

  /** Appends JSON-like rows (timestamps as Date, ms or ISO strings) in one commit. */
  async append(
    rows: readonly Record<string, unknown>[],
    options: Partial<CommitOptions> & { txns?: TxnAction[] } = {},
  ): Promise<WriteResult> {
    const dir = await mkdtemp(join(tmpdir(), 'pulse-lake-rows-'));
    try {
      const file = join(dir, 'rows.json');
      await writeFile(file, rows.map((r) => JSON.stringify(r, rowReplacer)).join('\n') + '\n');
      return await this.appendFrom(rowsSql(file, this.snapshot().schema), options);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
      const written = await this.engine.query<CopyStats>(
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
  async checkpoint(): Promise<number> {
    const state = this.state;
    const snapshot = state.snapshot();
    const now = Date.now();
    const retention = retentionMs(snapshot);
    const rows: object[] = [{ protocol: snapshot.protocol }, { metaData: snapshot.metadata }];
    for (const t of snapshot.txns.values()) rows.push({ txn: t });
    for (const a of snapshot.files) rows.push({ add: { ...a, dataChange: false } });
    for (const r of snapshot.tombstones) if (r.deletionTimestamp > now - retention) rows.push({ remove: r });
    const dir = await mkdtemp(join(tmpdir(), 'pulse-lake-checkpoint-'));
    try {
      const json = join(dir, 'actions.json');
      const parquet = join(dir, 'checkpoint.parquet');
      await writeFile(json, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      await this.engine.run(
        `COPY (SELECT * FROM read_json(${sqlString(json)}, format = 'newline_delimited', columns = ${CHECKPOINT_COLUMNS})) ` +
          `TO ${sqlString(parquet)} (FORMAT parquet, COMPRESSION snappy)`,
      );
      const data = await readFile(parquet);
      await this.storage.write(checkpointKey(this.path, snapshot.version), data);
      await this.storage.write(
        lastCheckpointKey(this.path),
        JSON.stringify({ version: snapshot.version, size: rows.length, sizeInBytes: data.length }),
      );
      await this.cleanUpLog(snapshot);
      return snapshot.version;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Delta's metadata cleanup: once a checkpoint is written, log files (commits and older checkpoints)
   * before it and older than `delta.logRetentionDuration` (30 days) go; versions before them can no
   * longer be time-travelled to, as in Delta.
   */
  private async cleanUpLog(snapshot: DeltaSnapshot): Promise<void> {
    const retention = intervalMs(snapshot.metadata.configuration['delta.logRetentionDuration']) ?? DEFAULT_LOG_RETENTION_MS;
    const cutoff = Date.now() - retention;
    const expired = (await this.storage.list(`${this.path}/_delta_log/`)).filter((o) => {
      const m = o.key.match(/\/(\d{20})\.(json|checkpoint\.parquet)$/);
      return m !== null && Number(m[1]) < snapshot.version && o.modifiedMs < cutoff;
    });
    if (expired.length > 0) await this.storage.delete(expired.map((o) => o.key));
  }

  private async maybeCheckpoint(version: number): Promise<void> {
    const interval = Number(this.state.metadata?.configuration['delta.checkpointInterval'] ?? DEFAULT_CHECKPOINT_INTERVAL);
    if (version === 0 || version % interval !== 0) return;
    try {
      await this.checkpoint();
    } catch (error) {
      this.onWarning(`could not write the checkpoint of version ${version} of ${this.location}`, error);
    }
  }
}

interface CopyStats {
  filename: string;
  count: string | number;
  file_size_bytes: string | number;
  column_statistics?: { key: string; value: { key: string; value: string }[] }[];
  partition_keys?: { key: string; value: string }[];
}

const CHECKPOINT_COLUMNS = `{
  txn: 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)',
  add: 'STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags MAP(VARCHAR, VARCHAR))',
  remove: 'STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT)',
  metaData: 'STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)',
  protocol: 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)'
}`;

function checkTxns(state: TableState, txns: readonly TxnAction[]): void {
  for (const t of txns) {
    const committed = state.txns.get(t.appId);
    if (committed && t.version <= committed.version) throw new DeltaTxnReplayError(t.appId, t.version, committed.version);
  }
}

function targetFileSize(snapshot: DeltaSnapshot): number {
  return Number(snapshot.metadata.configuration['pulse.targetFileSize'] ?? DEFAULT_TARGET_FILE_SIZE);
}

function retentionMs(snapshot: DeltaSnapshot): number {
  return intervalMs(snapshot.metadata.configuration['delta.deletedFileRetentionDuration']) ?? DEFAULT_RETENTION_MS;
}

/** A Delta table property duration (`interval 7 days`) in ms; undefined when absent or not understood. */
function intervalMs(value: string | undefined): number | undefined {
  const match = value?.match(/^interval\s+(\d+)\s+(second|minute|hour|day|week)s?$/i);
  if (!match) return undefined;
  const unit = { second: 1e3, minute: 6e4, hour: 36e5, day: 864e5, week: 6048e5 }[match[2].toLowerCase() as 'second'];
  return Number(match[1]) * unit;
}

/** Delta file statistics from DuckDB's COPY … RETURN_STATS; min/max only where they are exact. */
function fileStats(
  schema: readonly DeltaColumn[],
  partitions: readonly string[],
  numRecords: number,
  columns: { key: string; value: { key: string; value: string }[] }[],
): object {
  const byName = new Map(columns.map((c) => [c.key.replace(/^"|"$/g, ''), Object.fromEntries(c.value.map((kv) => [kv.key, kv.value]))]));
  const minValues: Record<string, unknown> = {};
  const maxValues: Record<string, unknown> = {};
  const nullCount: Record<string, number> = {};
  for (const column of schema) {
    if (partitions.includes(column.name) || column.type === 'map<string,string>') continue;
    const s = byName.get(column.name);
    if (!s) continue;
    if (s['null_count'] !== undefined) nullCount[column.name] = Number(s['null_count']);
    if (s['min'] === undefined || s['max'] === undefined) continue;
    if (column.type === 'long' || column.type === 'integer' || column.type === 'double') {
      minValues[column.name] = Number(s['min']);
      maxValues[column.name] = Number(s['max']);
    } else if (column.type === 'date' || (column.type === 'string' && s['min'].length <= 32 && s['max'].length <= 32)) {
      minValues[column.name] = s['min'];
      maxValues[column.name] = s['max'];
    }
  }
  return { numRecords, minValues, maxValues, nullCount };
}

function encodePathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%3D/g, '=');
}

function decodePath(path: string): string {
  return path.split('/').map(decodeURIComponent).join('/');
}

function rowReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  return value;
}

/** DuckDB query reading JSON rows written by `append`, typed by the table's schema. */
function rowsSql(file: string, schema: readonly DeltaColumn[]): string {
  const columns = schema.map((c) => `${sqlString(c.name)}: ${sqlString(c.type === 'timestamp' ? 'VARCHAR' : duckdbType(c.type))}`);
  const select = schema.map((c) =>
    c.type === 'timestamp' ? `CAST(${sqlIdent(c.name)} AS TIMESTAMPTZ) AS ${sqlIdent(c.name)}` : sqlIdent(c.name),
  );
  return `SELECT ${select.join(', ')} FROM read_json(${sqlString(file)}, format = 'newline_delimited', columns = {${columns.join(', ')}})`;
}

/** A DuckDB table expression over a snapshot's files with its partition columns typed as the schema says. */
export async function scanSql(storage: LakeStorage, tablePath: string, snapshot: DeltaSnapshot): Promise<string> {
  const columns = snapshot.schema.map((c) => `CAST(NULL AS ${duckdbType(c.type)}) AS ${sqlIdent(c.name)}`);
  if (snapshot.files.length === 0) return `(SELECT ${columns.join(', ')} WHERE false)`;
  const paths = await Promise.all(snapshot.files.map((f) => storage.localPath(`${tablePath}/${decodePath(f.path)}`)));
  const select = snapshot.schema.map((c) => {
    if (!snapshot.partitionColumns.includes(c.name)) return sqlIdent(c.name);
    return `CAST(pv[${sqlString(c.name)}] AS ${duckdbType(c.type)}) AS ${sqlIdent(c.name)}`;
  });
  const values = snapshot.files
    .map(
      (f, i) =>
        `(${sqlString(paths[i])}, MAP {${snapshot.partitionColumns.map((p) => `${sqlString(p)}: ${f.partitionValues[p] == null ? 'NULL' : sqlString(f.partitionValues[p]!)}`).join(', ')}})`,
    )
    .join(', ');
  if (snapshot.partitionColumns.length === 0) {
    return `(SELECT ${select.join(', ')} FROM read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true))`;
  }
  return (
    `(SELECT ${select.join(', ')} FROM read_parquet([${paths.map(sqlString).join(', ')}], filename = 'pulse_file', union_by_name = true) d ` +
    `JOIN (SELECT * FROM (VALUES ${values}) v(pulse_file, pv)) m USING (pulse_file))`
  );
}

/** Replays the log up to `maxVersion` from the latest usable checkpoint. */
async function loadState(storage: LakeStorage, engine: LakeEngine, path: string, maxVersion: number): Promise<TableState> {
  const state = new TableState();
  const checkpoint = await findCheckpoint(storage, path, maxVersion);
  if (checkpoint !== null) {
    const local = await storage.localPath(checkpointKey(path, checkpoint));
    const rows = await engine.query<Record<string, string | null>>(
      `SELECT to_json(protocol) AS protocol, to_json(metaData) AS "metaData", to_json(txn) AS txn, to_json("add") AS "add", to_json(remove) AS remove FROM read_parquet(${sqlString(local)})`,
    );
    const actions: Action[] = [];
    for (const row of rows) {
      for (const [kind, json] of Object.entries(row)) if (json) actions.push({ [kind]: JSON.parse(json) } as Action);
    }
    state.apply(checkpoint, actions);
    const info = await storage.read(logKey(path, checkpoint));
    if (info)
      state.apply(
        checkpoint,
        parseActions(info.toString('utf8')).filter((a) => 'commitInfo' in a),
      );
  }
  await advance(storage, path, state, maxVersion);
  return state;
}

async function advance(storage: LakeStorage, path: string, state: TableState, maxVersion: number): Promise<void> {
  for (let v = state.version + 1; v <= maxVersion; v++) {
    const text = await storage.read(logKey(path, v));
    if (text === null) break;
    state.apply(v, parseActions(text.toString('utf8')));
  }
}

async function findCheckpoint(storage: LakeStorage, path: string, maxVersion: number): Promise<number | null> {
  if (maxVersion === Number.POSITIVE_INFINITY) {
    const last = await storage.read(lastCheckpointKey(path));
    if (last) return (JSON.parse(last.toString('utf8')) as { version: number }).version;
    return null;
  }
  const versions = (await storage.list(`${path}/_delta_log/`))
    .map((o) => o.key.match(/(\d{20})\.checkpoint\.parquet$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((v) => v <= maxVersion);
  return versions.length > 0 ? Math.max(...versions) : null;
}
