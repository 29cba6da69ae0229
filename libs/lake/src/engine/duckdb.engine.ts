import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export interface EngineSettings {
  /** DuckDB memory limit, e.g. `1GB`. */
  memoryLimit?: string;
  /** Worker threads; DuckDB's default (one per core) when absent. */
  threads?: number;
  /** Directory DuckDB may spill to. */
  tempDirectory?: string;
}

/**
 * The lake's query and Parquet engine: one in-memory DuckDB per process. DuckDB writes and reads the
 * Parquet data files (zstd, statistics) and the Parquet checkpoints; the Delta log itself is ours.
 * Each call takes its own connection, so concurrent callers do not queue behind each other.
 */
export class LakeEngine {
  private constructor(private readonly instance: DuckDBInstance) {}

  static async create(settings: EngineSettings = {}): Promise<LakeEngine> {
    const options: Record<string, string> = {};
    if (settings.memoryLimit) options['memory_limit'] = settings.memoryLimit;
    if (settings.threads) options['threads'] = String(settings.threads);
    if (settings.tempDirectory) options['temp_directory'] = settings.tempDirectory;
    return new LakeEngine(await DuckDBInstance.create(':memory:', options));
  }

  async connect(): Promise<DuckDBConnection> {
    return this.instance.connect();
  }

  /** Runs SQL with a fresh connection and returns the rows as JSON-friendly objects. */
  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const connection = await this.instance.connect();
    try {
      const reader = await connection.runAndReadAll(sql);
      return reader.getRowObjectsJson() as T[];
    } finally {
      connection.closeSync();
    }
  }

  async run(sql: string): Promise<void> {
    const connection = await this.instance.connect();
    try {
      await connection.run(sql);
    } finally {
      connection.closeSync();
    }
  }

  close(): void {
    this.instance.closeSync();
  }
}

/** A SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
