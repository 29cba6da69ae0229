/**
 * OPTIMIZE: compaction of a table's small files, per partition, into files of the target size.
 */

import { randomUUID } from 'node:crypto';
import { join, sep } from 'node:path';
import { sqlIdent, sqlString } from '../engine/duckdb.engine';
import type { AddAction } from './actions';
import { type CopyStats, decodePath, encodePathSegment, fileStats, STAGING } from './data-files';
import { refresh } from './snapshot';
import type { TableContext } from './table-context';
import { targetFileSize } from './table-config';
import type { DeltaSnapshot } from './table-state';
import { commit, discard } from './write';

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

/**
 * Bin-packs the files smaller than the target size (and any not written as zstd) of each partition
 * into target-size zstd files: one OPTIMIZE commit of add + remove with dataChange=false, so
 * streaming readers of the table see no new data.
 */
export async function compact(context: TableContext, options: CompactOptions = {}): Promise<CompactResult> {
  const snapshot = await refresh(context);
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
      added.push(...(await rewriteBin(context, snapshot, bin, target)));
      removed.push(...bin);
    }
    const now = Date.now();
    const bytesAdded = added.reduce((s, f) => s + f.size, 0);
    const bytesRemoved = removed.reduce((s, f) => s + f.size, 0);
    const version = await commit(
      context,
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
    await discard(context, added).catch(() => undefined);
    throw error;
  }
}

/** Rewrites the files of one bin (all of one partition) as target-size zstd files, uncommitted. */
async function rewriteBin(context: TableContext, snapshot: DeltaSnapshot, bin: AddAction[], target: number): Promise<AddAction[]> {
  const partitionValues = bin[0].partitionValues;
  const partitionDir = snapshot.partitionColumns.map((p) => `${p}=${partitionValues[p] ?? '__HIVE_DEFAULT_PARTITION__'}`).join('/');
  const stagingKey = `${context.path}/${STAGING}/${randomUUID()}`;
  const dir = await context.storage.stagingDir(stagingKey);
  try {
    const paths = await Promise.all(bin.map((f) => context.storage.localPath(`${context.path}/${decodePath(f.path)}`)));
    const dataColumns = snapshot.schema.filter((c) => !snapshot.partitionColumns.includes(c.name)).map((c) => sqlIdent(c.name));
    const written = await context.engine.query<CopyStats>(
      `COPY (SELECT ${dataColumns.join(', ')} FROM read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true)) ` +
        `TO ${sqlString(join(dir, 'out'))} (FORMAT parquet, COMPRESSION zstd, RETURN_STATS, FILENAME_PATTERN 'part-{uuid}.zstd', FILE_SIZE_BYTES ${target})`,
    );
    const now = Date.now();
    const out: AddAction[] = [];
    for (const file of written) {
      const name = file.filename.split(sep).pop()!;
      const rel = partitionDir ? `${partitionDir}/${name}` : name;
      await context.storage.publishStaged(file.filename, `${context.path}/${rel}`);
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
    await context.storage.dropStaging(stagingKey);
  }
}
