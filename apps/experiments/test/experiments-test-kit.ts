import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoFile } from '@pulse/contracts';
import { grpcClient, PROTO_LOADER_OPTIONS, type UnaryClient } from '@pulse/platform';
import { issueTestApiKey } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as PgClient } from 'pg';
import { createApp, type RunningApp } from '../src/app.factory';
import { loadExperimentsConfig } from '../src/config/experiments.config';

/** A run: its own PostgreSQL schema and lake directory, so runs never collide. */
export function newRun() {
  const id = randomUUID().replace(/-/g, '').slice(0, 10);
  return { id, schema: `experiments_t_${id}`, lakeRoot: mkdtempSync(join(tmpdir(), `experiments-${id}-`)) };
}
export type Run = ReturnType<typeof newRun>;

/** A stand-in recommender answering RecsService/GetModel for the versions it is given (NOT_FOUND otherwise). */
export async function fakeRecommender(versions: readonly string[]) {
  const definition = protoLoader.loadSync(protoFile('pulse/recs/v1/recs_service.proto'), PROTO_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as any;
  const server = new grpc.Server();
  const calls: string[] = [];
  server.addService(pkg.pulse.recs.v1.RecsService.service, {
    getModel: (call: { request: { version: string } }, callback: grpc.sendUnaryData<unknown>) => {
      calls.push(call.request.version);
      if (versions.includes(call.request.version)) callback(null, { model: { version: call.request.version, algorithm: 'mf' } });
      else callback({ code: grpc.status.NOT_FOUND, details: `model version ${call.request.version} not found` } as grpc.ServiceError);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, calls, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

export interface TestApp {
  running: RunningApp;
  client: UnaryClient;
  /** The operator's API key the client sends. */
  apiKey: string;
  close(): Promise<void>;
}

export async function startExperiments(run: Run, recsAddress: string, overrides: Record<string, string> = {}): Promise<TestApp> {
  const running = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    EXPERIMENTS_PG_SCHEMA: run.schema,
    EXPERIMENTS_AUTO_MIGRATE: 'true',
    RECS_GRPC_ADDR: recsAddress,
    LAKE_ROOT: run.lakeRoot,
    ...overrides,
  });
  // An operator's key: creating, starting and stopping experiments needs admin.
  const key = await issueTestApiKey({
    label: 'experiments',
    pgUrl: running.config.PULSE_AUTH_PG_URL,
    schema: running.config.PULSE_AUTH_PG_SCHEMA,
  });
  const client = grpcClient(
    running.grpcAddress,
    'pulse/experiments/v1/experiments_service.proto',
    'pulse.experiments.v1.ExperimentsService',
    {
      credentials: key.key,
    },
  );
  return {
    running,
    client,
    apiKey: key.key,
    close: async () => {
      client.close();
      await running.close();
      await key.remove();
    },
  };
}

export async function dropSchema(run: Run): Promise<void> {
  const pg = new PgClient({ connectionString: loadExperimentsConfig().PG_URL });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS ${run.schema} CASCADE`).finally(() => pg.end());
}

/** A CreateExperiment body (proto-loader's JSON shape: enums by number, oneofs as plain fields). */
export function experimentBody(overrides: Record<string, unknown> = {}) {
  return {
    id: `exp-${randomUUID().slice(0, 8)}`,
    name: 'MF against the promoted model',
    description: 'Does the MF model beat the promoted one on CTR?',
    layer: 'recs',
    trafficPercent: 30,
    variants: [
      { name: 'control', weight: 50, control: true, strategy: 1 },
      { name: 'mf', weight: 50, control: false, modelVersion: 'v-mf-1' },
    ],
    primaryMetric: 1,
    guardrailMetrics: [4, 3],
    ...overrides,
  };
}
