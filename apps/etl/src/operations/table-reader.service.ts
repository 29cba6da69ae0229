import { Injectable } from '@nestjs/common';
import { etlV1, millisToTimestamp } from '@pulse/contracts';
import type { DeltaColumn } from '@pulse/lake';
import { grpcErrors, requiredField } from '@pulse/platform';
import { Lake } from '../lake/lake';

const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;

/** A page size or row limit: 0 means the default, above the maximum is the caller's mistake. */
function pageLimit(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAGE)
    throw grpcErrors.invalidArgument(field, `between 0 and ${MAX_PAGE} (0 means ${DEFAULT_PAGE})`);
  return value === 0 ? DEFAULT_PAGE : value;
}

/**
 * Reads the managed tables for people looking at the lake: the commit history a page at a time (Delta's
 * DESCRIBE HISTORY) and the first rows of any version (time travel), through the same DuckDB engine the
 * streams write with. The gRPC controller validates requests and calls this.
 */
@Injectable()
export class TableReaderService {
  constructor(private readonly lake: Lake) {}

  /** Commits from `fromVersion` (default the latest) down, at most `pageSize`; the token names the next version down. */
  async history(request: { table: string; pageSize: number; pageToken: string }): Promise<etlV1.GetTableHistoryResponse> {
    const name = requiredField(request.table, 'table');
    const pageSize = pageLimit(request.pageSize, 'page_size');
    const token = request.pageToken;
    if (token !== '' && !/^\d{1,15}$/.test(token)) throw grpcErrors.invalidArgument('page_token', 'not a token of a previous page');
    const fromVersion = token === '' ? undefined : Number(token);
    const { table } = await this.lake.get(name);
    const entries = await table.history(pageSize, fromVersion);
    const last = entries.at(-1);
    return {
      commits: entries.map((h) => ({
        version: h.version,
        committedAt: millisToTimestamp(h.timestamp),
        operation: h.operation,
        rowsAdded: Number(h.operationMetrics['numOutputRows'] ?? 0),
        operationParameters: h.operationParameters,
        operationMetrics: h.operationMetrics,
      })),
      nextPageToken: entries.length === pageSize && last && last.version > 0 ? String(last.version - 1) : '',
    };
  }

  /** The first `limit` rows of a version (the latest when absent) with its columns and row count. */
  async preview(request: { table: string; version: number | undefined; limit: number }): Promise<etlV1.PreviewTableResponse> {
    const name = requiredField(request.table, 'table');
    const version = request.version;
    if (version !== undefined && (!Number.isInteger(version) || version < 0)) throw grpcErrors.invalidArgument('version', '0 or more');
    const limit = pageLimit(request.limit, 'limit');
    const { table } = await this.lake.get(name);
    const latest = (await table.refresh()).version;
    if (version !== undefined && version > latest) throw grpcErrors.notFound(`version ${version} of table ${name} (latest ${latest})`);
    let snapshot;
    try {
      snapshot = version === undefined ? table.snapshot() : await table.snapshotAt(version);
    } catch (error) {
      // A version whose log was cleaned up after a checkpoint cannot be rebuilt.
      if (error instanceof RangeError) throw grpcErrors.notFound(`version ${version} of table ${name}: ${error.message}`);
      throw error;
    }
    const scan = await table.scanSql(snapshot);
    const [rows, [count]] = await Promise.all([
      this.lake.engine.query(`SELECT * FROM ${scan} LIMIT ${limit}`),
      this.lake.engine.query<{ n: number }>(`SELECT count(*)::DOUBLE AS n FROM ${scan}`),
    ]);
    const partitions = new Set(snapshot.partitionColumns);
    return {
      version: snapshot.version,
      columns: snapshot.schema.map((c) => ({ name: c.name, type: c.type, partition: partitions.has(c.name) })),
      rows: rows.map((row) => JSON.stringify(jsonRow(row, snapshot.schema))),
      totalRows: Number(count?.n ?? 0),
    };
  }
}

/** DuckDB's JSON form of a row, made plain: longs as numbers while exact, maps as objects. */
export function jsonRow(row: Record<string, unknown>, schema: readonly DeltaColumn[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of schema) {
    const value = row[column.name] ?? null;
    if (column.type === 'long' && typeof value === 'string' && Number.isSafeInteger(Number(value))) out[column.name] = Number(value);
    else if (column.type === 'map<string,string>' && Array.isArray(value))
      out[column.name] = Object.fromEntries((value as { key: string; value: unknown }[]).map((e) => [e.key, e.value]));
    else out[column.name] = value;
  }
  return out;
}
