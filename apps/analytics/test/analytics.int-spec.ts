import { grpcClient } from '@pulse/platform';
import { Client as PgClient } from 'pg';
import { randomUUID } from 'node:crypto';
import { createApp, type RunningApp } from '../src/app.factory';
import { loadAnalyticsConfig } from '../src/config/analytics.config';

// One run = its own PostgreSQL schema, so runs never collide.
const run = randomUUID().replace(/-/g, '').slice(0, 10);
let app: RunningApp;

beforeAll(async () => {
  app = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    ANALYTICS_PG_SCHEMA: `analytics_t_${run}`,
    ANALYTICS_AUTO_MIGRATE: 'true',
  });
});

afterAll(async () => {
  await app?.close();
  const config = loadAnalyticsConfig();
  const pg = new PgClient({ connectionString: config.PG_URL });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS analytics_t_${run} CASCADE`).finally(() => pg.end());
});

describe('analytics', () => {
  it('is ready once its dependencies answer', async () => {
    const response = await fetch(`${app.httpUrl}/health/ready`);
    expect(response.status).toBe(200);
  });

  it('answers GetStatus over gRPC with when it started', async () => {
    const client = grpcClient(app.grpcAddress, 'pulse/analytics/v1/analytics_service.proto', 'pulse.analytics.v1.AnalyticsService');
    try {
      const status = await client.call('GetStatus', {});
      expect(Number(status.startedAt.seconds)).toBeGreaterThan(0);
      expect(Number(status.eventsHandled)).toBe(0);
    } finally {
      client.close();
    }
  });
});
