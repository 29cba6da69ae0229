/**
 * DELETE: removal of the rows matching a predicate, copy-on-write as Delta's DELETE without deletion
 * vectors: every file holding a matching row is rewritten without those rows, and one commit removes
 * the old files and adds the new ones.
 */

import { randomUUID } from 'node:crypto';
import { join, sep } from 'node:path';
import { sqlIdent, sqlString } from '../engine/duckdb.engine';
import { type AddAction, duckdbType } from './actions';
import { type CopyStats, decodePath, encodePathSegment, fileStats, STAGING } from './data-files';
import { refresh } from './snapshot';
import type { TableContext } from './table-context';
import { targetFileSize } from './table-config';
import type { DeltaSnapshot } from './table-state';
import { commit, discard } from './write';

export interface DeleteOptions {
  /**
   * The rows to delete: a DuckDB boolean expression over the table's columns, partition columns included,
   * e.g. `user_id = '42'`. A row for which it is NULL is kept.
   */
  predicate: string;
  /** Only files of the partitions for which this returns true are looked at. */
  partitionFilter?: (partitionValues: Record<string, string | null>) => boolean;
  /**
   * What the commit records as the predicate (commitInfo.operationParameters). Defaults to the predicate;
   * an erasure passes a description instead, so the log does not keep the value it erased.
   */
  recordedPredicate?: string;
}

export interface DeleteResult {
  /** The version of the DELETE commit; null when no row matched (nothing committed). */
  version: number | null;
  numDeletedRows: number;
  /** Rows of the rewritten files that were kept (copied into the new files). */
  numCopiedRows: number;
  numRemovedFiles: number;
  numAddedFiles: number;
  /** Paths (as in the log) of the files the commit removed: what an erasure vacuum must purge. */
  removedFiles: string[];
}

interface MatchedFile {
  file: AddAction;
  matched: number;
  total: number;
}

/**
 * Deletes the rows matching the predicate in one commit of `remove` (the files holding them) and `add` (the
 * same files without them; none when no row is left), operation DELETE with Delta's metrics. A commit that
 * won the race and removed one of the same files (a compaction) raises `DeltaConflictError`; the caller runs
 * the delete again on the new version.
 */
export async function deleteWhere(context: TableContext, options: DeleteOptions): Promise<DeleteResult> {
  const started = Date.now();
  const snapshot = await refresh(context);
  const candidates = snapshot.files.filter((f) => !options.partitionFilter || options.partitionFilter(f.partitionValues));
  const matched = await matchingFiles(context, snapshot, candidates, options.predicate);
  const scanMs = Date.now() - started;
  if (matched.length === 0) {
    return { version: null, numDeletedRows: 0, numCopiedRows: 0, numRemovedFiles: 0, numAddedFiles: 0, removedFiles: [] };
  }
  const added: AddAction[] = [];
  try {
    for (const m of matched) if (m.total > m.matched) added.push(...(await rewriteWithout(context, snapshot, m.file, options.predicate)));
    const numDeletedRows = matched.reduce((s, m) => s + m.matched, 0);
    const numCopiedRows = matched.reduce((s, m) => s + m.total - m.matched, 0);
    const now = Date.now();
    const version = await commit(
      context,
      [
        ...matched.map(({ file }) => ({
          remove: {
            path: file.path,
            deletionTimestamp: now,
            dataChange: true,
            extendedFileMetadata: true,
            partitionValues: file.partitionValues,
            size: file.size,
          },
        })),
        ...added.map((add) => ({ add })),
      ],
      {
        operation: 'DELETE',
        operationParameters: { predicate: JSON.stringify([options.recordedPredicate ?? options.predicate]) },
        operationMetrics: {
          numRemovedFiles: String(matched.length),
          numAddedFiles: String(added.length),
          numDeletedRows: String(numDeletedRows),
          numCopiedRows: String(numCopiedRows),
          numRemovedBytes: String(matched.reduce((s, m) => s + m.file.size, 0)),
          numAddedBytes: String(added.reduce((s, f) => s + f.size, 0)),
          executionTimeMs: String(now - started),
          scanTimeMs: String(scanMs),
          rewriteTimeMs: String(now - started - scanMs),
        },
      },
    );
    return {
      version,
      numDeletedRows,
      numCopiedRows,
      numRemovedFiles: matched.length,
      numAddedFiles: added.length,
      removedFiles: matched.map((m) => m.file.path),
    };
  } catch (error) {
    await discard(context, added).catch(() => undefined);
    throw error;
  }
}

/** The files with at least one row matching the predicate, with how many of their rows match. */
async function matchingFiles(
  context: TableContext,
  snapshot: DeltaSnapshot,
  files: readonly AddAction[],
  predicate: string,
): Promise<MatchedFile[]> {
  const out: MatchedFile[] = [];
  // One query per group of files keeps the statement and DuckDB's open files bounded.
  for (let i = 0; i < files.length; i += 256) {
    const group = files.slice(i, i + 256);
    const paths = await Promise.all(group.map((f) => localPath(context, f)));
    const byPath = new Map(paths.map((p, k) => [p, group[k]]));
    const rows = await context.engine.query<{ f: string; matched: number | bigint; total: number | bigint }>(
      `SELECT pulse_file AS f, count(*) FILTER (WHERE coalesce((${predicate}), false)) AS matched, count(*) AS total ` +
        `FROM ${filesSql(snapshot, group, paths)} GROUP BY pulse_file`,
    );
    for (const r of rows) {
      const matched = Number(r.matched);
      if (matched > 0) out.push({ file: byPath.get(r.f)!, matched, total: Number(r.total) });
    }
  }
  return out;
}

/**
 * A DuckDB table expression over some of a snapshot's files with the file's path as `pulse_file` and the
 * partition columns as typed values, so a predicate sees every column of the table.
 */
function filesSql(snapshot: DeltaSnapshot, files: readonly AddAction[], paths: readonly string[]): string {
  const partitionColumns = snapshot.schema.filter((c) => snapshot.partitionColumns.includes(c.name));
  const read = `read_parquet([${paths.map(sqlString).join(', ')}], filename = 'pulse_file', union_by_name = true)`;
  if (partitionColumns.length === 0) return `(SELECT * FROM ${read})`;
  const values = files
    .map((f, i) => {
      const cells = partitionColumns.map((c) => {
        const v = f.partitionValues[c.name];
        return v == null ? `CAST(NULL AS ${duckdbType(c.type)})` : `CAST(${sqlString(v)} AS ${duckdbType(c.type)})`;
      });
      return `(${[sqlString(paths[i]), ...cells].join(', ')})`;
    })
    .join(', ');
  const names = ['pulse_file', ...partitionColumns.map((c) => sqlIdent(c.name))].join(', ');
  return `(SELECT * FROM ${read} d JOIN (SELECT * FROM (VALUES ${values}) v(${names})) m USING (pulse_file))`;
}

/** Rewrites one file without the rows matching the predicate, into the same partition, uncommitted. */
async function rewriteWithout(context: TableContext, snapshot: DeltaSnapshot, file: AddAction, predicate: string): Promise<AddAction[]> {
  const partitionDir = snapshot.partitionColumns.map((p) => `${p}=${file.partitionValues[p] ?? '__HIVE_DEFAULT_PARTITION__'}`).join('/');
  const stagingKey = `${context.path}/${STAGING}/${randomUUID()}`;
  const dir = await context.storage.stagingDir(stagingKey);
  try {
    const path = await localPath(context, file);
    const dataColumns = snapshot.schema.filter((c) => !snapshot.partitionColumns.includes(c.name)).map((c) => sqlIdent(c.name));
    const written = await context.engine.query<CopyStats>(
      `COPY (SELECT ${dataColumns.join(', ')} FROM ${filesSql(snapshot, [file], [path])} WHERE NOT coalesce((${predicate}), false)) ` +
        `TO ${sqlString(join(dir, 'out'))} (FORMAT parquet, COMPRESSION zstd, RETURN_STATS, FILENAME_PATTERN 'part-{uuid}.zstd', FILE_SIZE_BYTES ${targetFileSize(snapshot)})`,
    );
    const now = Date.now();
    const out: AddAction[] = [];
    for (const w of written) {
      const name = w.filename.split(sep).pop()!;
      const rel = partitionDir ? `${partitionDir}/${name}` : name;
      await context.storage.publishStaged(w.filename, `${context.path}/${rel}`);
      out.push({
        path: rel.split('/').map(encodePathSegment).join('/'),
        partitionValues: file.partitionValues,
        size: Number(w.file_size_bytes),
        modificationTime: now,
        dataChange: true,
        stats: JSON.stringify(fileStats(snapshot.schema, snapshot.partitionColumns, Number(w.count), w.column_statistics ?? [])),
      });
    }
    return out;
  } finally {
    await context.storage.dropStaging(stagingKey);
  }
}

function localPath(context: TableContext, file: AddAction): Promise<string> {
  return context.storage.localPath(`${context.path}/${decodePath(file.path)}`);
}
