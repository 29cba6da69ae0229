import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';

/**
 * The offline engine: one in-memory DuckDB per process, its memory capped (FEATURE_STORE_DUCKDB_MEMORY;
 * larger joins spill to disk), UTC as its time zone. Each job takes its own connection.
 */
@Injectable()
export class OfflineEngine implements OnApplicationShutdown {
  private instance?: Promise<DuckDBInstance>;

  constructor(@Inject(FEATURE_STORE_CONFIG) private readonly config: FeatureStoreConfig) {}

  async connect(): Promise<DuckDBConnection> {
    this.instance ??= DuckDBInstance.create(':memory:', {
      memory_limit: this.config.FEATURE_STORE_DUCKDB_MEMORY,
      threads: String(this.config.FEATURE_STORE_DUCKDB_THREADS),
    });
    const connection = await (await this.instance).connect();
    await connection.run("SET TimeZone = 'UTC'");
    return connection;
  }

  async onApplicationShutdown() {
    if (this.instance) (await this.instance).closeSync();
  }
}
