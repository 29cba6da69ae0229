import { DuckDBInstance } from '@duckdb/node-api';
import { millisToTimestamp } from '@pulse/contracts';
import { grpcClient, type UnaryClient } from '@pulse/platform';
import { deleteRedisKeys, issueTestApiKey, type TestApiKey } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createApp, type RunningApp } from '../src/app.factory';
import { type FeatureStoreConfig, loadFeatureStoreConfig } from '../src/config/feature-store.config';
import { type CommandResult, runRegistryCommand } from '../src/registry/registry-commands';

/** The stack's addresses as the service reads them (env of `tools/stack/stack env`, else the defaults). */
export const stackConfig = loadFeatureStoreConfig();

/**
 * One isolated feature store world: its own PostgreSQL schema, Redis key prefix, lake directory and
 * definitions directory. `apply` writes definition files and runs the registry command; `start` boots
 * the service against it.
 */
export class FeatureStoreWorld {
  readonly run = randomUUID().replace(/-/g, '').slice(0, 10);
  readonly schema = `fs_t_${this.run}`;
  readonly redisPrefix = `pulse:fs-test:${this.run}:`;
  readonly lakeRoot = mkdtempSync(join(tmpdir(), `fs-lake-${this.run}-`));
  readonly repoDir = mkdtempSync(join(tmpdir(), `fs-repo-${this.run}-`));
  readonly env: Record<string, string>;
  app?: RunningApp;
  client?: UnaryClient;
  private key?: TestApiKey;

  constructor(overrides: Record<string, string> = {}) {
    this.env = {
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      FEATURE_STORE_PG_SCHEMA: this.schema,
      FEATURE_STORE_AUTO_MIGRATE: 'true',
      FEATURE_STORE_REDIS_PREFIX: this.redisPrefix,
      LAKE_ROOT: this.lakeRoot,
      FEATURE_STORE_REPO_DIR: this.repoDir,
      FEATURE_STORE_REGISTRY_REFRESH: '200ms',
      FEATURE_STORE_AGGREGATES_CONSUMER: 'false',
      FEATURE_STORE_AGGREGATES_GROUP: `fs-test-${this.run}`,
      FEATURE_STORE_DUCKDB_MEMORY: '256MB',
      ...overrides,
    };
  }

  get config(): FeatureStoreConfig {
    return loadFeatureStoreConfig(this.env);
  }

  /** Replaces the definition files with `files` (name → YAML). */
  writeRepo(files: Record<string, string>): void {
    rmSync(this.repoDir, { recursive: true, force: true });
    mkdirSync(this.repoDir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(this.repoDir, name), text);
  }

  /** `plan` / `apply [--force]` as the CLI runs them. */
  registry(...args: string[]): Promise<CommandResult> {
    return runRegistryCommand(args, this.config, 'test');
  }

  async start(): Promise<UnaryClient> {
    this.app = await createApp(this.env);
    // The client calls with an admin key of its own (the authorisation matrix checks the scopes).
    this.key ??= await issueTestApiKey({
      label: 'feature-store',
      pgUrl: this.app.config.PULSE_AUTH_PG_URL,
      schema: this.app.config.PULSE_AUTH_PG_SCHEMA,
    });
    this.client = grpcClient(this.app.grpcAddress, 'pulse/features/v1/features_service.proto', 'pulse.features.v1.FeaturesService', {
      credentials: this.key.key,
    });
    return this.client;
  }

  async stop(): Promise<void> {
    this.client?.close();
    await this.app?.close();
    await this.key?.remove();
    this.key = undefined;
    this.client = undefined;
    this.app = undefined;
  }

  /** Stops the app and removes everything the world created. */
  async dispose(): Promise<void> {
    await this.stop().catch(() => undefined);
    const pg = new Client({ connectionString: stackConfig.PG_URL });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`).finally(() => pg.end());
    await deleteRedisKeys(stackConfig.REDIS_URL, this.redisPrefix);
    rmSync(this.lakeRoot, { recursive: true, force: true });
    rmSync(this.repoDir, { recursive: true, force: true });
  }
}

/** Runs SQL in a throwaway DuckDB (writing test Parquet files, reading results back). */
export async function duck<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run("SET TimeZone = 'UTC'");
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJS() as T[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export const ts = millisToTimestamp;
export const str = (stringValue: string) => ({ stringValue });
export const dbl = (doubleValue: number) => ({ doubleValue });
export const i64 = (int64Value: number) => ({ int64Value });
