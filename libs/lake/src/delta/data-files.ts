/** The Parquet data files of a table: where they live under its root and the statistics their add actions carry. */

import type { DeltaColumn } from './actions';

/** Directory under a table's root where DuckDB writes files before they are published. */
export const STAGING = '_pulse_staging';

/** One file written by DuckDB's `COPY … (RETURN_STATS)`. */
export interface CopyStats {
  filename: string;
  count: string | number;
  file_size_bytes: string | number;
  column_statistics?: { key: string; value: { key: string; value: string }[] }[];
  partition_keys?: { key: string; value: string }[];
}

/** Delta file statistics from DuckDB's COPY … RETURN_STATS; min/max only where they are exact. */
export function fileStats(
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

export function encodePathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%3D/g, '=');
}

export function decodePath(path: string): string {
  return path.split('/').map(decodeURIComponent).join('/');
}
