import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { sqlIdent, sqlString } from '@pulse/lake';
import { grpcErrors } from '@pulse/platform';
import { mkdirSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';

/** Limits of one entity query. */
export interface EntityQueryLimits {
  /** DuckDB memory limit, e.g. `256MB`. */
  memory: string;
  threads: number;
  /** Wall-clock time the query may run before it is interrupted. */
  timeoutMs: number;
}

/** An entity query that failed; its message is safe to return to the caller. */
export class EntityQueryError extends Error {}

interface SerializedSql {
  error: boolean;
  error_message?: string;
  statements?: unknown[];
}

/**
 * Refuses anything but one SELECT statement (set operations and CTEs included), by DuckDB's own parser:
 * `json_serialize_sql` serialises SELECT statements only and reports every other kind as an error.
 */
export async function checkEntityQuery(connection: DuckDBConnection, query: string): Promise<void> {
  const reader = await connection.runAndReadAll(`SELECT json_serialize_sql(${sqlString(query)})`);
  const parsed = JSON.parse(String((reader.getRows()[0] ?? [])[0])) as SerializedSql;
  if (parsed.error)
    throw grpcErrors.invalidArgument('entity_query', `must be one SELECT statement (${parsed.error_message ?? 'does not parse'})`);
  if (parsed.statements?.length !== 1)
    throw grpcErrors.invalidArgument('entity_query', `must be one SELECT statement, not ${parsed.statements?.length ?? 0}`);
}

/**
 * Runs a caller's entity query and writes its rows to `target` (a Parquet file under `workDir`). The query
 * runs in a DuckDB of its own that can open files under the lake root and `workDir` only (external access
 * off, extensions neither installed nor loaded), whose configuration is locked before the query runs, within
 * a memory limit and a time limit. `views` are the tables the query may name (view name → table expression).
 */
export async function runEntityQuery(options: {
  query: string;
  views: ReadonlyMap<string, string>;
  lakeRoot: string;
  workDir: string;
  target: string;
  limits: EntityQueryLimits;
}): Promise<void> {
  const { query, views, workDir, target, limits } = options;
  const spill = join(workDir, 'spill');
  mkdirSync(spill, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: limits.memory,
    threads: String(limits.threads),
    temp_directory: spill,
    max_temp_directory_size: limits.memory,
  });
  try {
    const connection = await instance.connect();
    const dirs = [resolve(options.lakeRoot), resolve(workDir)].map((d) => sqlString(d.endsWith(sep) ? d : d + sep));
    for (const setting of [
      "SET TimeZone = 'UTC'",
      `SET allowed_directories = [${dirs.join(', ')}]`,
      'SET autoinstall_known_extensions = false',
      'SET autoload_known_extensions = false',
      'SET enable_external_access = false',
      'SET lock_configuration = true',
    ])
      await connection.run(setting);
    await checkEntityQuery(connection, query);
    for (const [name, relation] of views) {
      try {
        await connection.run(`CREATE TEMP VIEW ${sqlIdent(name)} AS SELECT * FROM ${relation}`);
      } catch {
        // Not readable (no data yet): left out; a query naming it fails with "table does not exist".
      }
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      connection.interrupt();
    }, limits.timeoutMs);
    try {
      // The newline ends a trailing line comment of the query.
      await connection.run(`COPY (SELECT * FROM (${query}\n)) TO ${sqlString(target)} (FORMAT parquet)`);
    } catch (error) {
      if (timedOut) throw new EntityQueryError(`entity_query ran longer than ${limits.timeoutMs} ms`);
      throw new EntityQueryError(`entity_query failed: ${publicErrorText(error, options.lakeRoot)}`);
    } finally {
      clearTimeout(timer);
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/**
 * The text of an error that may be shown to the caller: its first line, paths under the lake root made
 * relative to it, any other absolute path replaced by `<path>`, at most 500 characters.
 */
export function publicErrorText(error: unknown, lakeRoot: string): string {
  const first = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  const root = resolve(lakeRoot) + sep;
  const text = first
    .split(root)
    .join('')
    .replace(/(^|[\s'"(=:,[])\/[^\s'"),\]]*/g, '$1<path>');
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
