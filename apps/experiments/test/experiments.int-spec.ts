import { grpcClient } from '@pulse/platform';
import { Client as PgClient } from 'pg';
import { randomUUID } from 'node:crypto';
import { createApp, type RunningApp } from '../src/app.factory';
import { loadExperimentsConfig } from '../src/config/experiments.config';

// One run = its own PostgreSQL schema, so runs never collide.
const run = randomUUID().replace(/-/g, '').slice(0, 10);
let app: RunningApp;

beforeAll(async () => {
  app = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    EXPERIMENTS_PG_SCHEMA: `experiments_t_${run}`,
    EXPERIMENTS_AUTO_MIGRATE: 'true',
  });
});

afterAll(async () => {
  await app?.close();
  const config = loadExperimentsConfig();
  const pg = new PgClient({ connectionString: config.PG_URL });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS experiments_t_${run} CASCADE`).finally(() => pg.end());
});

describe('experiments', () => {
  it('is ready once its dependencies answer', async () => {
    const response = await fetch(`${app.httpUrl}/health/ready`);
    expect(response.status).toBe(200);
  });

  it('answers GetStatus over gRPC with when it started', async () => {
    const client = grpcClient(app.grpcAddress, 'pulse/experiments/v1/experiments_service.proto', 'pulse.experiments.v1.ExperimentsService');
    try {
      const status = await client.call('GetStatus', {});
      expect(Number(status.startedAt.seconds)).toBeGreaterThan(0);
      expect(Number(status.eventsHandled)).toBe(0);
    } finally {
      client.close();
    }
  });
});
