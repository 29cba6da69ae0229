/**
 * Writes and commits: creating a table (version 0), writing data files, appending them, and the
 * commit itself — put-if-absent at the next log version, with optimistic concurrency: a writer that
 * loses the race reads the winning commit and retries past it unless the two conflict.
 */

import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { sqlIdent, sqlString } from '../engine/duckdb.engine';
import {
  type Action,
  type AddAction,
  type CommitInfo,
  type DeltaColumn,
  duckdbType,
  ENGINE_INFO,
  logKey,
  type MetadataAction,
  parseActions,
  type RemoveAction,
  schemaString,
  serializeActions,
  type TxnAction,
} from './actions';
import { maybeCheckpoint } from './checkpoint';
import { ColumnBatch } from './column-batch';
import { type CopyStats, decodePath, encodePathSegment, fileStats, STAGING } from './data-files';
import { DeltaConflictError, DeltaTxnReplayError } from './errors';
import { lastCheckpointVersion, refresh } from './snapshot';
import type { TableContext } from './table-context';
import { targetFileSize } from './table-config';
import type { TableState } from './table-state';

export interface CreateTableOptions {
  columns: readonly DeltaColumn[];
  partitionColumns?: readonly string[];
  name?: string;
  description?: string;
  /** Table properties, e.g. `delta.checkpointInterval`, `delta.deletedFileRetentionDuration`. */
  configuration?: Record<string, string>;
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

/** Options of an append: the commit's, and the application transactions (a stream's offsets) it records. */
type AppendOptions = Partial<CommitOptions> & { txns?: TxnAction[] };

/**
 * The actions of version 0 of a new table: commitInfo, protocol and metaData. Throws when a
 * partition column is not a column or has a type Delta does not partition by.
 */
export function createTableActions(create: CreateTableOptions): Action[] {
  const partitionColumns = [...(create.partitionColumns ?? [])];
  for (const p of partitionColumns) {
    const column = create.columns.find((c) => c.name === p);
    if (!column) throw new Error(`partition column ${p} is not a column`);
    if (column.type === 'map<string,string>' || column.type === 'timestamp' || column.type === 'double') {
      throw new Error(`partition column ${p} cannot be of type ${column.type}`);
    }
  }
  const now = Date.now();
  return [
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
        schemaString: schemaString(create.columns),
        partitionColumns,
        configuration: create.configuration ?? {},
        createdTime: now,
      },
    },
  ];
}

/** Throws unless an existing table has the schema and partitioning that `create` asks for. */
export function checkCreatedAs(existing: MetadataAction, create: CreateTableOptions, location: string): void {
  const partitionColumns = [...(create.partitionColumns ?? [])];
  if (
    existing.schemaString !== schemaString(create.columns) ||
    JSON.stringify(existing.partitionColumns) !== JSON.stringify(partitionColumns)
  ) {
    throw new Error(`a Delta table with another schema or partitioning exists at ${location}`);
  }
}

/**
 * Commits actions as the next version. Application transactions must be above the versions the
 * table holds (`DeltaTxnReplayError` otherwise, nothing written); a concurrent commit of the same
 * transaction or removing the same files raises `DeltaConflictError`; others are retried past.
 */
export async function commit(context: TableContext, actions: readonly Action[], options: CommitOptions): Promise<number> {
  const txns = actions.filter((a): a is { txn: TxnAction } => 'txn' in a).map((a) => a.txn);
  const removes = new Set(actions.filter((a): a is { remove: RemoveAction } => 'remove' in a).map((a) => a.remove.path));
  const readVersion = context.state.version;
  checkTxns(context.state, txns);
  const maxAttempts = options.maxAttempts ?? 50;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    // A checkpoint past our state: log cleanup (the erasure vacuum's within minutes) may have removed the commits after
    // it, and a put-if-absent of the next version would then succeed in place of one of them — a commit no reader sees
    // and a writer state that missed those commits (its next checkpoint would bring removed files back). Catch up from
    // the checkpoint first, with the checks a lost race makes.
    const checkpoint = await lastCheckpointVersion(context.storage, context.path);
    if (checkpoint !== null && checkpoint > context.state.version) {
      const before = context.state;
      await refresh(context);
      checkCaughtUp(before, context.state, txns, removes);
    }
    const version = context.state.version + 1;
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
    if (await context.storage.putIfAbsent(logKey(context.path, version), serializeActions(all))) {
      applyCommit(context, version, all);
      await maybeCheckpoint(context, version);
      return version;
    }
    // Lost the race for this version: look at what won and decide.
    const text = await context.storage.read(logKey(context.path, version));
    if (text === null) throw new Error(`log version ${version} of ${context.location} refused but unreadable`);
    const winning = parseActions(text.toString('utf8'));
    checkConflicts(version, winning, txns, removes);
    applyCommit(context, version, winning);
  }
  throw new Error(`gave up committing to ${context.location} after ${maxAttempts} concurrent commits`);
}

/**
 * Writes the rows of a DuckDB query as zstd Parquet files (one per partition value) into the table's
 * directory, uncommitted: the caller commits the returned add actions (or `discard`s them).
 */
export async function writeFiles(context: TableContext, sourceSql: string): Promise<{ files: AddAction[]; rows: number }> {
  const snapshot = context.state.snapshot();
  const partitions = snapshot.partitionColumns;
  const stagingKey = `${context.path}/${STAGING}/${randomUUID()}`;
  const dir = await context.storage.stagingDir(stagingKey);
  try {
    const options = ['FORMAT parquet', 'COMPRESSION zstd', 'RETURN_STATS', "FILENAME_PATTERN 'part-{uuid}.zstd'"];
    if (partitions.length > 0) options.push(`PARTITION_BY (${partitions.map(sqlIdent).join(', ')})`);
    else options.push(`FILE_SIZE_BYTES ${targetFileSize(snapshot)}`);
    const written = await context.engine.query<CopyStats>(`COPY (${sourceSql}) TO ${sqlString(join(dir, 'out'))} (${options.join(', ')})`);
    const files: AddAction[] = [];
    let rows = 0;
    const now = Date.now();
    for (const file of written) {
      const rel = relative(join(dir, 'out'), file.filename).split(sep).join('/');
      const key = `${context.path}/${rel}`;
      await context.storage.publishStaged(file.filename, key);
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
    await context.storage.dropStaging(stagingKey);
  }
}

/** Deletes data files written by `writeFiles` that were never committed. */
export async function discard(context: TableContext, files: readonly AddAction[]): Promise<void> {
  await context.storage.delete(files.map((f) => `${context.path}/${decodePath(f.path)}`));
}

/**
 * Appends the rows of a DuckDB query in one commit, with optional application transactions (a
 * stream's offsets). A replayed or concurrently committed transaction deletes the written files and
 * rethrows, so nothing is written twice.
 */
export async function appendFrom(context: TableContext, sourceSql: string, options: AppendOptions = {}): Promise<WriteResult> {
  checkTxns(context.state, options.txns ?? []);
  const { files, rows } = await writeFiles(context, sourceSql);
  const now = Date.now();
  const actions: Action[] = [
    ...(options.txns ?? []).map((t) => ({ txn: { ...t, lastUpdated: t.lastUpdated ?? now } })),
    ...files.map((add) => ({ add })),
  ];
  try {
    const version = await commit(context, actions, {
      operation: options.operation ?? 'WRITE',
      operationParameters: options.operationParameters ?? {
        mode: 'Append',
        partitionBy: JSON.stringify(context.state.snapshot().partitionColumns),
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
    await discard(context, files).catch(() => undefined);
    throw error;
  }
}

/** Appends a column batch in one commit (the fast path for streams); see `appendFrom`. */
export async function appendBatch(context: TableContext, batch: ColumnBatch, options: AppendOptions = {}): Promise<WriteResult> {
  checkTxns(context.state, options.txns ?? []);
  const name = `pulse_batch_${randomUUID().replace(/-/g, '')}`;
  const connection = await context.engine.connect();
  try {
    return await appendFrom(context, await batch.stage(connection, name), options);
  } finally {
    for (const table of ColumnBatch.stagedTables(name))
      await connection.run(`DROP TABLE IF EXISTS ${sqlIdent(table)}`).catch(() => undefined);
    connection.closeSync();
  }
}

/** Appends JSON-like rows (timestamps as Date, ms or ISO strings) in one commit. */
export async function appendRows(
  context: TableContext,
  rows: readonly Record<string, unknown>[],
  options: AppendOptions = {},
): Promise<WriteResult> {
  const dir = await mkdtemp(join(tmpdir(), 'pulse-lake-rows-'));
  try {
    const file = join(dir, 'rows.json');
    await writeFile(file, rows.map((r) => JSON.stringify(r, rowReplacer)).join('\n') + '\n');
    return await appendFrom(context, rowsSql(file, context.state.snapshot().schema), options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Refuses application transactions whose version is not above the one the table holds. */
function checkTxns(state: TableState, txns: readonly TxnAction[]): void {
  for (const t of txns) {
    const committed = state.txns.get(t.appId);
    if (committed && t.version <= committed.version) throw new DeltaTxnReplayError(t.appId, t.version, committed.version);
  }
}

/**
 * Whether a commit that won `version` invalidates ours: a change of metadata or protocol, the same
 * application transaction, or the removal of a file ours removes too. Anything else (blind appends)
 * is retried past.
 */
function checkConflicts(version: number, winning: readonly Action[], txns: readonly TxnAction[], removes: ReadonlySet<string>): void {
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
}

/**
 * Whether the commits between two states of the table (read from a checkpoint: they are gone one by one) invalidate
 * ours, as `checkConflicts` decides for one winning commit: another schema or protocol, our application transaction
 * moved, or a file ours removes removed already.
 */
function checkCaughtUp(before: TableState, after: TableState, txns: readonly TxnAction[], removes: ReadonlySet<string>): void {
  const shape = (s: TableState) =>
    JSON.stringify([
      s.metadata?.id,
      s.metadata?.schemaString,
      s.metadata?.partitionColumns,
      s.protocol?.minReaderVersion,
      s.protocol?.minWriterVersion,
    ]);
  if (shape(before) !== shape(after)) {
    throw new DeltaConflictError(
      `versions ${before.version + 1}..${after.version} changed the table's metadata or protocol`,
      'metadata',
      after.version,
    );
  }
  for (const t of txns) {
    if (before.txns.get(t.appId)?.version !== after.txns.get(t.appId)?.version) {
      throw new DeltaConflictError(
        `a commit up to version ${after.version} committed transaction ${t.appId} concurrently`,
        'transaction',
        after.version,
      );
    }
  }
  for (const path of removes) {
    if (!after.files.has(path))
      throw new DeltaConflictError(`a commit up to version ${after.version} removed ${path} concurrently`, 'delete', after.version);
  }
}

/** Moves the context to a version, written by us or by another writer. */
function applyCommit(context: TableContext, version: number, actions: readonly Action[]): void {
  const next = context.state.clone();
  next.apply(version, actions);
  context.state = next;
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
