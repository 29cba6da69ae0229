import type { simulatorV1 } from '@pulse/contracts';
import { grpcClient, migrationsDir, runMigrations, type UnaryClient } from '@pulse/platform';
import { issueTestApiKey } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { createApp, type RunningApp } from '../src/app.factory';

export const PG_URL = process.env['PG_URL'] ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse';

/** The schemas of one test run: a copy of the app tables, and the simulator's own. */
export interface TestSchemas {
  app: string;
  own: string;
}

/** Creates a copy of the app database's tables (apps/cdc/migrations) in a schema of this run. */
export async function createTestSchemas(prefix: string): Promise<TestSchemas> {
  const run = randomUUID().replace(/-/g, '').slice(0, 10);
  const schemas = { app: `${prefix}_app_${run}`, own: `${prefix}_own_${run}` };
  await runMigrations({ pgUrl: PG_URL, schema: schemas.app, dir: migrationsDir('cdc', __dirname), applicationName: 'simulator-test' });
  return schemas;
}

export async function dropTestSchemas(schemas: TestSchemas | undefined): Promise<void> {
  if (!schemas) return;
  const pg = new PgClient({ connectionString: PG_URL });
  await pg.connect();
  try {
    for (const schema of [schemas.app, schemas.own]) await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await pg.end();
  }
}

export interface TestSimulator {
  app: RunningApp;
  status(): Promise<simulatorV1.GetStatusResponse>;
  client: UnaryClient;
  close(): Promise<void>;
}

/** The simulator in this process on free ports, writing the test schemas (media uploads off unless overridden). */
export async function startSimulator(schemas: TestSchemas, overrides: Record<string, string>): Promise<TestSimulator> {
  // One key for the test's calls (SetRate needs admin) and for the simulator's own calls to ingest, recs and storage.
  const key = await issueTestApiKey({ label: 'simulator', pgUrl: PG_URL });
  const app = await createApp({
    PULSE_API_KEY: key.key,
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    PG_URL,
    SIMULATOR_PG_SCHEMA: schemas.own,
    SIMULATOR_AUTO_MIGRATE: 'true',
    SIMULATOR_APP_SCHEMA: schemas.app,
    SIMULATOR_MEDIA_UPLOADS: 'false',
    ...overrides,
  });
  const client = grpcClient(app.grpcAddress, 'pulse/simulator/v1/simulator_service.proto', 'pulse.simulator.v1.SimulatorService', {
    credentials: key.key,
  });
  return {
    app,
    client,
    status: () => client.call<simulatorV1.GetStatusResponse>('GetStatus', {}),
    close: async () => {
      client.close();
      await app.close();
      await key.remove();
    },
  };
}
