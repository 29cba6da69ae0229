import type { DuckDBConnection } from '@duckdb/node-api';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { LakeEngine } from '@pulse/lake';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';

/**
 * The offline engine: one in-memory DuckDB per process (the lake's engine, also used for the Delta
 * tables the feature store writes), its memory capped by FEATURE_STORE_DUCKDB_MEMORY (larger joins
 * spill to disk), UTC as the session time zone. Each job takes its own connection.
 */
@Injectable()
export class OfflineEngine implements OnApplicationShutdown {
  private engine?: Promise<LakeEngine>;

  constructor(@Inject(FEATURE_STORE_CONFIG) private readonly config: FeatureStoreConfig) {}

  lake(): Promise<LakeEngine> {
    // Joins larger than the memory limit spill to a directory of this process under the temp dir (writable in
    // the container too; one per process, so two services on one host never share spill files).
    this.engine ??= LakeEngine.create({
      memoryLimit: this.config.FEATURE_STORE_DUCKDB_MEMORY,
      threads: this.config.FEATURE_STORE_DUCKDB_THREADS,
      tempDirectory: join(tmpdir(), `pulse-feature-store-duckdb-${process.pid}`),
    });
    return this.engine;
  }

  async connect(): Promise<DuckDBConnection> {
    const connection = await (await this.lake()).connect();
    await connection.run("SET TimeZone = 'UTC'");
    return connection;
  }

  async onApplicationShutdown() {
    if (this.engine) (await this.engine).close();
  }
}
