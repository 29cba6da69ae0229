/**
 * VACUUM: deletion of the data files no version within the retention period needs.
 */

import { decodePath, STAGING } from './data-files';
import { refresh } from './snapshot';
import type { TableContext } from './table-context';
import { DEFAULT_RETENTION_MS, retentionMs } from './table-config';
import { commit } from './write';

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

/**
 * Deletes data files that no version newer than the retention period needs: files removed longer
 * ago than the retention, and files never committed (a crashed writer's) older than it. Logged as
 * VACUUM START / VACUUM END commits, as Delta does.
 */
export async function vacuum(context: TableContext, options: VacuumOptions = {}): Promise<VacuumResult> {
  const snapshot = await refresh(context);
  const now = options.nowMs ?? Date.now();
  const retention = options.retentionMs ?? retentionMs(snapshot);
  const live = new Set(snapshot.files.map((f) => decodePath(f.path)));
  const tombstones = new Map(snapshot.tombstones.map((t) => [decodePath(t.path), t]));
  const candidates: { key: string; size: number }[] = [];
  for (const object of await context.storage.list(`${context.path}/`)) {
    const rel = object.key.slice(context.path.length + 1);
    if (rel.startsWith('_delta_log/')) continue;
    const staging = rel.startsWith(`${STAGING}/`);
    if (!staging && rel.split('/').some((segment) => segment.startsWith('_') || segment.startsWith('.'))) continue;
    if (live.has(rel)) continue;
    const removedAt = tombstones.get(rel)?.deletionTimestamp ?? object.modifiedMs;
    if (removedAt < now - retention) candidates.push({ key: object.key, size: object.size });
  }
  if (options.dryRun) return { dryRun: true, deleted: candidates };
  await commit(context, [], {
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
  await context.storage.delete(candidates.map((c) => c.key));
  await commit(context, [], {
    operation: 'VACUUM END',
    operationParameters: { status: 'COMPLETED' },
    operationMetrics: { numDeletedFiles: String(candidates.length), numVacuumedDirectories: '0' },
  });
  return { dryRun: false, deleted: candidates };
}
