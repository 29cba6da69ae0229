import { ingestV1 } from '@pulse/contracts';
import { createRedisClient, grpcClient } from '@pulse/platform';
import { errorMessages, issueTestApiKey, rejectionOf, type TestApiKey } from '@pulse/platform/testing';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client as PgClient } from 'pg';
import { createApp, type RunningApp } from '../src/app.factory';
import { DedupWindow, EventDedupRepository, eventFingerprint, windowMember } from '../src/track-events/event-dedup.redis.repository';

const { ActivityType, EventStatus, TargetType } = ingestV1;
const run = randomUUID().slice(0, 8);

// The stack's PostgreSQL takes TLS on its port (sslmode decides) and Redis has a TLS port and ACL users confined to a
// key prefix (tools/stack/lib/postgres.sh, redis.sh); `tools/stack/stack env` names the port, the CA and passwords.
const stack = {
  ca: process.env.STACK_CA_FILE ?? '',
  redisTlsPort: process.env.STACK_REDIS_TLS_PORT ?? '',
  ingestPassword: process.env.STACK_REDIS_PASSWORD_PULSE_INGEST ?? '',
  pgUrl: process.env.PG_URL ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse',
};
const redisTlsUrl = (user: string, password: string) => `rediss://${user}:${password}@127.0.0.1:${stack.redisTlsPort}`;
/** PG_URL with libpq's TLS parameters, as an operator writes them (node-postgres reads them the same way). */
const pgTlsUrl = (rootCert: string) => {
  const url = new URL(stack.pgUrl);
  url.searchParams.set('sslmode', 'verify-full');
  url.searchParams.set('sslrootcert', rootCert);
  return url.toString();
};

const clients: Redis[] = [];
afterAll(() => clients.forEach((c) => c.disconnect()));

/** A connected client of the platform's factory; the error the connection failed with otherwise. */
async function redisAs(url: string, tls: { ca?: Buffer }): Promise<Redis> {
  const redis = createRedisClient({ url, tls });
  clients.push(redis);
  let last: Error | undefined;
  redis.on('error', (e: Error) => (last = e));
  await redis.connect().catch((e: Error) => {
    throw last ?? e;
  });
  return redis;
}

beforeAll(() => {
  if (!stack.ca || !stack.redisTlsPort || !stack.ingestPassword)
    throw new Error(
      'STACK_CA_FILE / STACK_REDIS_TLS_PORT / STACK_REDIS_PASSWORD_PULSE_INGEST are not set: eval "$(tools/stack/stack env)"',
    );
});

describe('ingest with its stores over TLS: Redis as its ACL user, PostgreSQL verified against the CA', () => {
  let running: RunningApp | undefined;
  let key: TestApiKey;

  afterAll(async () => {
    await running?.close();
    await key?.remove();
  });

  it('accepts an event once and knows it the second time (dedupe in Redis over TLS, API keys from PostgreSQL over TLS)', async () => {
    const prefix = `pulse:ingest:test:${run}:`;
    running = await createApp({
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      LOG_LEVEL: 'error',
      INGEST_DEDUP_KEY_PREFIX: prefix,
      REDIS_URL: redisTlsUrl('pulse-ingest', stack.ingestPassword),
      REDIS_TLS_CA_FILE: stack.ca,
      PULSE_AUTH_PG_URL: pgTlsUrl(stack.ca),
    });
    key = await issueTestApiKey({ label: 'ingest-stores-tls', scopes: ['events:write'], pgUrl: running.config.PULSE_AUTH_PG_URL });
    const client = grpcClient(running.grpcAddress, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', {
      credentials: key.key,
    });
    const request = {
      events: [
        {
          eventId: `e-${run}`,
          userId: `u-${run}`,
          type: ActivityType.ACTIVITY_TYPE_LIKE,
          target: { type: TargetType.TARGET_TYPE_POST, id: 'p-1' },
          occurredAt: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
        },
      ],
    };
    try {
      const first = await client.call<ingestV1.TrackEventsResponse>('TrackEvents', request);
      const second = await client.call<ingestV1.TrackEventsResponse>('TrackEvents', request);
      expect(first.results.map((r) => r.status)).toEqual([EventStatus.EVENT_STATUS_ACCEPTED]);
      expect(second.results.map((r) => r.status)).toEqual([EventStatus.EVENT_STATUS_DUPLICATE]);
    } finally {
      client.close();
    }
    const asIngest = await redisAs(redisTlsUrl('pulse-ingest', stack.ingestPassword), { ca: readFileSync(stack.ca) });
    expect(await asIngest.keys(`${prefix}*`).catch((e: Error) => e.message)).toMatch(/NOPERM/); // KEYS is @dangerous
    // The id is in its set of the dedup window, and the ACL user may sweep the window.
    const { set, digits } = eventFingerprint(`e-${run}`);
    const window = new DedupWindow(running.config.INGEST_DEDUP_TTL);
    const member = windowMember(digits, window.bucket(Date.now()));
    expect(await asIngest.sismember(`${prefix}window ${set}`, member)).toBe(1);
    expect(await running.app.get(EventDedupRepository).sweep(Date.now())).toBe(0);
    expect(await asIngest.pttl(`${prefix}window ${set}`)).toBeGreaterThan(0);
  }, 60_000);

  it("confines the ACL user to its key prefix and the safe commands: another service's keys and FLUSHALL are refused", async () => {
    const asIngest = await redisAs(redisTlsUrl('pulse-ingest', stack.ingestPassword), { ca: readFileSync(stack.ca) });
    expect(await asIngest.set(`pulse:ingest:test:${run}:own`, '1', 'EX', 60)).toBe('OK');
    expect(await rejectionOf(asIngest.get('pulse:fs:any'))).toMatchObject({ message: expect.stringMatching(/^NOPERM/) });
    expect(await rejectionOf(asIngest.eval("return redis.call('GET', KEYS[1])", 1, 'pulse:recs:any'))).toMatchObject({
      message: expect.stringMatching(/NOPERM/),
    });
    expect(await rejectionOf(asIngest.flushall())).toMatchObject({ message: expect.stringMatching(/^NOPERM/) });
    expect(
      errorMessages(await rejectionOf(redisAs(redisTlsUrl('pulse-ingest', 'wrong'), { ca: readFileSync(stack.ca) }))).join('\n'),
    ).toMatch(/WRONGPASS/);
  }, 30_000);

  it("verifies the servers' certificates: without the stack's CA both refuse to connect", async () => {
    const redisError = errorMessages(await rejectionOf(redisAs(redisTlsUrl('pulse-ingest', stack.ingestPassword), {}))).join('\n');
    expect(redisError).toMatch(/self.signed certificate|unable to verify/);
    const pg = new PgClient({ connectionString: pgTlsUrl('/etc/ssl/certs/ca-certificates.crt') });
    expect((await rejectionOf(pg.connect())).message).toMatch(/self.signed certificate|unable to verify/);
    await pg.end().catch(() => undefined);
  }, 30_000);

  it('PostgreSQL connections with sslmode=verify-full are encrypted', async () => {
    const pg = new PgClient({ connectionString: pgTlsUrl(stack.ca) });
    await pg.connect();
    try {
      const { rows } = await pg.query('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      expect(rows[0]).toMatchObject({ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) });
    } finally {
      await pg.end();
    }
  }, 30_000);
});
