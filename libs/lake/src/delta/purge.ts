/**
 * Erasure VACUUM: after a DELETE of someone's rows, the removed files (and the log entries whose statistics
 * name their values) must go before the usual retention, or time travel brings the rows back. This is Delta's
 * documented GDPR pattern (DELETE, then VACUUM with a retention shorter than the default) made one operation
 * with a floor: nothing younger than `minAgeMs` is touched, so readers of a recent version keep their files.
 */

import { checkpoint } from './checkpoint';
import type { TableContext } from './table-context';
import { vacuum } from './vacuum';

export interface PurgeOptions {
  /**
   * Removed data files and log files older than this go; younger ones stay (readers still on an older
   * version may need them). An erasure waits until its DELETE is this old, then purges.
   */
  minAgeMs: number;
  /** Current time; for tests. */
  nowMs?: number;
}

export interface PurgeResult {
  /** Data files deleted (removed from the table, or never committed), with their sizes. */
  deletedFiles: { key: string; size: number }[];
  /** The version of the checkpoint the log now starts from: no older version can be read any more. */
  checkpointVersion: number;
}

/**
 * Deletes every removed data file older than `minAgeMs` (VACUUM with that retention), then writes a checkpoint
 * of the latest version and deletes the log files before it older than `minAgeMs`: the commits and
 * checkpoints that still listed the purged files with their statistics. Afterwards the table's history starts
 * at the checkpoint; delta-rs, Spark and DuckDB read it as before.
 */
export async function purge(context: TableContext, options: PurgeOptions): Promise<PurgeResult> {
  const nowMs = options.nowMs ?? Date.now();
  const vacuumed = await vacuum(context, { retentionMs: options.minAgeMs, nowMs });
  const checkpointVersion = await checkpoint(context, { logRetentionMs: options.minAgeMs, nowMs });
  return { deletedFiles: vacuumed.deleted, checkpointVersion };
}
