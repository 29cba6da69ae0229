import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { analyticsV1, protoFile, protoRoot } from '@pulse/contracts';
import { DeltaTable, defaultLakeEngine, type HistoryEntry, LocalLakeStorage } from '@pulse/lake';
import { grpcClient, type UnaryClient } from '@pulse/platform';
import { issueTestApiKey, type TestApiKey } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as PgClient } from 'pg';
import { createApp, type RunningApp } from '../src/app.factory';
import { loadAnalyticsConfig } from '../src/config/analytics.config';
import { SparkConnectClient } from '../src/spark/spark-connect.client';

/** The stack's addresses as the service reads them (env of `tools/stack/stack env`, else the defaults). */
export const stackConfig = loadAnalyticsConfig();

/** Fails with how to start Spark when the stack's Spark Connect server does not answer. */
export async function requireSpark(): Promise<void> {
  const client = new SparkConnectClient(stackConfig.SPARK_REMOTE);
  try {
    await client.version(randomUUID(), 30_000);
  } catch (error) {
    throw new Error(
      `the analytics integration tests need Spark Connect at ${stackConfig.SPARK_REMOTE}: ${(error as Error).message}. Start it with: tools/stack/stack up spark`,
    );
  } finally {
    client.close();
  }
}

/** A stand-in for the feature store's FeaturesService that records Push calls (or refuses them). */
export class FakeFeatureStore {
  readonly pushes: {
    featureView: string;
    rows: { joinKeys: Record<string, any>; features: Record<string, any>; eventTimestamp: any }[];
    /** The `authorization` metadata of the call (the caller's PULSE_API_KEY). */
    authorization: string;
  }[] = [];
  failing = false;
  private server?: grpc.Server;
  address = '';

  async start(): Promise<void> {
    const definition = protoLoader.loadSync(protoFile('pulse/features/v1/features_service.proto'), {
      keepCase: false,
      longs: Number,
      enums: Number,
      defaults: true,
      arrays: true,
      objects: true,
      oneofs: true,
      includeDirs: [protoRoot()],
    });
    const service = (grpc.loadPackageDefinition(definition) as any).pulse.features.v1.FeaturesService.service;
    this.server = new grpc.Server();
    this.server.addService(service, {
      Push: (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
        if (this.failing) return callback({ code: grpc.status.UNAVAILABLE, details: 'feature store down' });
        const authorization = String(call.metadata.get('authorization')[0] ?? '');
        this.pushes.push({ featureView: call.request.featureView, rows: call.request.rows, authorization });
        callback(null, { onlineRows: call.request.rows.length, offlineRows: 0 });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server?.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    this.address = `127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.tryShutdown(() => resolve()) : resolve()));
  }
}

/**
 * One isolated analytics world: its own lake directory, PostgreSQL schema and Spark sessions (one per run).
 * `start` boots the service against it (schedules off unless overridden).
 */
export class AnalyticsWorld {
  readonly run = randomUUID().replace(/-/g, '').slice(0, 10);
  readonly schema = `analytics_t_${this.run}`;
  readonly lakeRoot = mkdtempSync(join(tmpdir(), `analytics-lake-${this.run}-`));
  app?: RunningApp;
  client?: UnaryClient;
  private key?: TestApiKey;

  async start(overrides: Record<string, string> = {}): Promise<RunningApp> {
    this.app = await createApp({
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      ANALYTICS_PG_SCHEMA: this.schema,
      ANALYTICS_AUTO_MIGRATE: 'true',
      LAKE_ROOT: this.lakeRoot,
      ANALYTICS_SCHEDULES_ENABLED: 'false',
      FEATURES_GRPC_ADDR: '127.0.0.1:1',
      ...overrides,
    });
    // An operator's key: starting runs needs admin.
    this.key = await issueTestApiKey({
      label: 'analytics',
      pgUrl: this.app.config.PULSE_AUTH_PG_URL,
      schema: this.app.config.PULSE_AUTH_PG_SCHEMA,
    });
    this.client = grpcClient(this.app.grpcAddress, 'pulse/analytics/v1/analytics_service.proto', 'pulse.analytics.v1.AnalyticsService', {
      credentials: this.key.key,
    });
    return this.app;
  }

  /** The operator's API key the world's client calls with (admin). */
  get credentials(): string {
    if (!this.key) throw new Error('start the world first');
    return this.key.key;
  }

  get api(): UnaryClient {
    if (!this.client) throw new Error('start the world first');
    return this.client;
  }

  /** Starts a run of `job` and waits for it to end; returns the run as GetJobRun shows it. */
  async runJob(job: string, parameters: Record<string, string> = {}, timeoutMs = 600_000): Promise<any> {
    const { run } = await this.api.call('RunJob', { job, parameters });
    return this.waitFor(run.runId, timeoutMs);
  }

  async waitFor(runId: string, timeoutMs = 600_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { run } = await this.api.call('GetJobRun', { runId });
      if (run.state === analyticsV1.RunState.RUN_STATE_SUCCEEDED || run.state === analyticsV1.RunState.RUN_STATE_FAILED) return run;
      if (Date.now() > deadline) throw new Error(`run ${runId} of ${run.job} did not end within ${timeoutMs} ms (${run.progress?.phase})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Rows of a Delta table of the lake (latest version), read with @pulse/lake's DuckDB, ordered. */
  async rows(path: string, orderBy: string, columns = '*'): Promise<Record<string, any>[]> {
    const table = await DeltaTable.open(new LocalLakeStorage(this.lakeRoot), path);
    return (await defaultLakeEngine()).query(`SELECT ${columns} FROM ${await table.scanSql()} ORDER BY ${orderBy}`);
  }

  /** The latest commit of a Delta table (version, operation, commitInfo). */
  async latestCommit(path: string): Promise<HistoryEntry> {
    const table = await DeltaTable.open(new LocalLakeStorage(this.lakeRoot), path);
    const [latest] = await table.history(1);
    return latest;
  }

  async close(): Promise<void> {
    this.client?.close();
    await this.app?.close();
    await this.key?.remove();
    rmSync(this.lakeRoot, { recursive: true, force: true });
    const pg = new PgClient({ connectionString: stackConfig.PG_URL });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`).finally(() => pg.end());
  }
}
