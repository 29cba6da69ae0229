import { sqlString } from '@pulse/lake';
import { grpcErrors } from '@pulse/platform';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';

/** An absolute path under the lake root for a caller's path; INVALID_ARGUMENT when it leaves the root. */
export function lakePath(root: string, path: string, field: string): string {
  if (!path) throw grpcErrors.invalidArgument(field, 'is required');
  if (path.includes('\0')) throw grpcErrors.invalidArgument(field, 'contains a NUL character');
  const stripped = path.startsWith('file://') ? path.slice('file://'.length) : path;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(stripped))
    throw grpcErrors.invalidArgument(field, 'only paths under the offline store root (or file:// URIs) are supported');
  const absRoot = resolve(root);
  const abs = isAbsolute(stripped) ? resolve(stripped) : resolve(absRoot, stripped);
  const rel = relative(absRoot, abs);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel))
    throw grpcErrors.invalidArgument(field, `"${path}" is not under the offline store root`);
  return abs;
}

/**
 * DuckDB table expression over Parquet or CSV files: a `.csv` file, a `.parquet` file or a directory
 * of Parquet files (recursively, with hive partition columns).
 */
export function fileRelation(abs: string): string {
  if (/\.csv$/i.test(abs)) return `read_csv(${sqlString(abs)}, header = true, auto_detect = true)`;
  if (existsSync(abs) && statSync(abs).isDirectory()) {
    return `read_parquet(${sqlString(join(abs, '**', '*.parquet'))}, hive_partitioning = true, union_by_name = true)`;
  }
  return `read_parquet(${sqlString(abs)})`;
}
