/**
 * Checkpoints and log cleanup: a Parquet checkpoint of the table state every
 * `delta.checkpointInterval` commits, and removal of the log files before it once past
 * `delta.logRetentionDuration`.
 */

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqlString } from '../engine/duckdb.engine';
import { checkpointKey, lastCheckpointKey } from './actions';
import type { TableContext } from './table-context';
import { checkpointInterval, logRetentionMs, retentionMs } from './table-config';
import type { DeltaSnapshot } from './table-state';

export interface CheckpointOptions {
  /** How old log files before the checkpoint must be to go; the table's `delta.logRetentionDuration` when absent. */
  logRetentionMs?: number;
  /** Current time; for tests of retention. */
  nowMs?: number;
}

/** Writes a Parquet checkpoint of the context's current version and points `_last_checkpoint` at it. */
export async function checkpoint(context: TableContext, options: CheckpointOptions = {}): Promise<number> {
  const { storage, path } = context;
  const snapshot = context.state.snapshot();
  const now = options.nowMs ?? Date.now();
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
    await context.engine.run(
      `COPY (SELECT * FROM read_json(${sqlString(json)}, format = 'newline_delimited', columns = ${CHECKPOINT_COLUMNS})) ` +
        `TO ${sqlString(parquet)} (FORMAT parquet, COMPRESSION snappy)`,
    );
    const data = await readFile(parquet);
    await storage.write(checkpointKey(path, snapshot.version), data);
    await storage.write(
      lastCheckpointKey(path),
      JSON.stringify({ version: snapshot.version, size: rows.length, sizeInBytes: data.length }),
    );
    await cleanUpLog(context, snapshot, options.logRetentionMs ?? logRetentionMs(snapshot), now);
    return snapshot.version;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Checkpoints a version just committed when it is a multiple of the checkpoint interval. A failure
 * does not fail the commit: it goes to the context's `onWarning`.
 */
export async function maybeCheckpoint(context: TableContext, version: number): Promise<void> {
  const interval = checkpointInterval(context.state.metadata);
  if (version === 0 || version % interval !== 0) return;
  try {
    await checkpoint(context);
  } catch (error) {
    context.onWarning(`could not write the checkpoint of version ${version} of ${context.location}`, error);
  }
}

/**
 * Delta's metadata cleanup: once a checkpoint is written, log files (commits and older checkpoints)
 * before it and older than `delta.logRetentionDuration` (30 days) go; versions before them can no
 * longer be time-travelled to, as in Delta.
 */
async function cleanUpLog(context: TableContext, snapshot: DeltaSnapshot, retention: number, now: number): Promise<void> {
  const cutoff = now - retention;
  const expired = (await context.storage.list(`${context.path}/_delta_log/`)).filter((o) => {
    const m = o.key.match(/\/(\d{20})\.(json|checkpoint\.parquet)$/);
    return m !== null && Number(m[1]) < snapshot.version && o.modifiedMs < cutoff;
  });
  if (expired.length > 0) await context.storage.delete(expired.map((o) => o.key));
}

const CHECKPOINT_COLUMNS = `{
  txn: 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)',
  add: 'STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags MAP(VARCHAR, VARCHAR))',
  remove: 'STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT)',
  metaData: 'STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)',
  protocol: 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)'
}`;
