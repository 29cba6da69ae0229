import { grpcClient } from '@pulse/platform';
import Redis from 'ioredis';
import { Client as PgClient } from 'pg';
import { randomUUID } from 'node:crypto';
import { createApp, type RunningApp } from '../src/app.factory';
import { loadPrivacyConfig } from '../src/config/privacy.config';

// One run = its own PostgreSQL schema, key prefix, so runs never collide.
const run = randomUUID().replace(/-/g, '').slice(0, 10);
let app: RunningApp;

beforeAll(async () => {
  app = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    PRIVACY_PG_SCHEMA: `privacy_t_${run}`,
    PRIVACY_AUTO_MIGRATE: 'true',
    PRIVACY_REDIS_PREFIX: `pulse:privacy:t:${run}:`,
  });
});

afterAll(async () => {
  await app?.close();
  const config = loadPrivacyConfig();
  const pg = new PgClient({ connectionString: config.PG_URL });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS privacy_t_${run} CASCADE`).finally(() => pg.end());
  const redis = new Redis(config.REDIS_URL);
  const keys = await redis.keys(`pulse:privacy:t:${run}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('privacy', () => {
  it('is ready once its dependencies answer', async () => {
    const response = await fetch(`${app.httpUrl}/health/ready`);
    expect(response.status).toBe(200);
  });

  it('answers GetStatus over gRPC with when it started', async () => {
    const client = grpcClient(app.grpcAddress, 'pulse/privacy/v1/privacy_service.proto', 'pulse.privacy.v1.PrivacyService');
    try {
      const status = await client.call('GetStatus', {});
      expect(Number(status.startedAt.seconds)).toBeGreaterThan(0);
      expect(Number(status.eventsHandled)).toBe(0);
    } finally {
      client.close();
    }
  });
});
