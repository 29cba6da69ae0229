import { grpcClient } from '@pulse/platform';
import { Client as PgClient } from 'pg';
import { randomUUID } from 'node:crypto';
import { createApp, type RunningApp } from '../src/app.factory';
import { loadSimulatorConfig } from '../src/config/simulator.config';

// One run = its own PostgreSQL schema, so runs never collide.
const run = randomUUID().replace(/-/g, '').slice(0, 10);
let app: RunningApp;

beforeAll(async () => {
  app = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    SIMULATOR_PG_SCHEMA: `simulator_t_${run}`,
    SIMULATOR_AUTO_MIGRATE: 'true',
  });
});

afterAll(async () => {
  await app?.close();
  const config = loadSimulatorConfig();
  const pg = new PgClient({ connectionString: config.PG_URL });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS simulator_t_${run} CASCADE`).finally(() => pg.end());
});

describe('simulator', () => {
  it('is ready once its dependencies answer', async () => {
    const response = await fetch(`${app.httpUrl}/health/ready`);
    expect(response.status).toBe(200);
  });

  it('answers GetStatus over gRPC with when it started', async () => {
    const client = grpcClient(app.grpcAddress, 'pulse/simulator/v1/simulator_service.proto', 'pulse.simulator.v1.SimulatorService');
    try {
      const status = await client.call('GetStatus', {});
      expect(Number(status.startedAt.seconds)).toBeGreaterThan(0);
      expect(Number(status.eventsHandled)).toBe(0);
    } finally {
      client.close();
    }
  });
});
