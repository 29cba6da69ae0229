import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ingestV1, protoFile, Topics } from '@pulse/contracts';
import { grpcClient, PgApiKeyStore, PlatformaticKafkaClient } from '@pulse/platform';
import {
  authorisationMatrix,
  fuzzProblems,
  fuzzWithTestKey,
  issueTestApiKey,
  matrixProblems,
  readTopicUntil,
  startTestJwtIssuer,
  type TestJwtIssuer,
} from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { createApp, type RunningApp } from '../src/app.factory';
import { TrackEventsGrpcController } from '../src/track-events/track-events.grpc.controller';

const { ActivityType, EventStatus, TargetType } = ingestV1;
const PROTO = 'pulse/ingest/v1/ingest_service.proto';
const SERVICE = 'pulse.ingest.v1.IngestService';
const run = randomUUID().slice(0, 8);

// One ingest for the file, accepting API keys (cache of 1 s, so a revocation shows quickly) and JWTs of a local issuer.
let running: RunningApp;
let idp: TestJwtIssuer;

beforeAll(async () => {
  idp = await startTestJwtIssuer({ audience: 'pulse-ingest' });
  running = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    // Refusals are logged at warn: the matrix makes dozens on purpose.
    LOG_LEVEL: 'error',
    INGEST_DEDUP_KEY_PREFIX: `test:${run}:auth:`,
    PULSE_AUTH: 'on',
    PULSE_AUTH_KEY_CACHE_TTL: '1s',
    PULSE_AUTH_JWKS_URL: idp.jwksUrl,
    PULSE_AUTH_JWT_ISSUER: idp.issuer,
    PULSE_AUTH_JWT_AUDIENCE: idp.audience,
  });
});

afterAll(async () => {
  await running?.close();
  await idp?.close();
});

function event(userId: string) {
  return {
    eventId: `${userId}-e1`,
    userId,
    type: ActivityType.ACTIVITY_TYPE_LIKE,
    target: { type: TargetType.TARGET_TYPE_POST, id: 'p-1' },
    occurredAt: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
  };
}

const jwt = (claims: Record<string, unknown>) => idp.sign(claims);

describe('authorisation of IngestService', () => {
  it('answers every RPC UNAUTHENTICATED without credentials, PERMISSION_DENIED with another scope, and for itself with its scope', async () => {
    const rows = await authorisationMatrix({
      address: running.grpcAddress,
      protoFile: PROTO,
      service: SERVICE,
      controller: TrackEventsGrpcController,
      pgUrl: running.config.PULSE_AUTH_PG_URL,
    });
    expect(rows.map((r) => r.rpc)).toEqual([`${SERVICE}/TrackEvents`, `${SERVICE}/ValidateEvents`]);
    expect(matrixProblems(rows)).toEqual([]);
    // An empty batch is the RPC's own refusal, once the caller is let in.
    expect(rows.map((r) => r.right)).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
  });

  it('stamps the principal of the API key as client_id, whatever the request claims', async () => {
    const key = await issueTestApiKey({ label: 'tracker', scopes: ['events:write'], pgUrl: running.config.PULSE_AUTH_PG_URL });
    const kafka = new PlatformaticKafkaClient({ brokers: running.config.KAFKA_BROKERS, clientId: `ingest-auth-${run}` });
    const client = grpcClient(running.grpcAddress, PROTO, SERVICE, { credentials: key.key });
    try {
      const since = await kafka.admin.endOffsets(Topics.activityTracked.name);
      const userId = `u-key-${run}`;
      const response = await client.call<ingestV1.TrackEventsResponse>('TrackEvents', {
        events: [event(userId)],
        clientId: 'someone-else',
      });
      expect(response.results[0].status).toBe(EventStatus.EVENT_STATUS_ACCEPTED);
      const [record] = await readTopicUntil(kafka, Topics.activityTracked, {
        since,
        filter: (r) => r.key === userId,
        done: (k) => k.length >= 1,
      });
      expect(record.value!.ingest!.clientId).toBe(key.name);
    } finally {
      client.close();
      await kafka.close();
      await key.remove();
    }
  });

  it('accepts a JWT of the configured issuer with the scope, as its subject, and refuses one without it', async () => {
    const kafka = new PlatformaticKafkaClient({ brokers: running.config.KAFKA_BROKERS, clientId: `ingest-auth-jwt-${run}` });
    const client = grpcClient(running.grpcAddress, PROTO, SERVICE, {
      credentials: await jwt({ sub: `app-${run}`, scope: 'events:write' }),
    });
    const reader = grpcClient(running.grpcAddress, PROTO, SERVICE, { credentials: await jwt({ sub: `app-${run}`, scope: 'recs:read' }) });
    try {
      const since = await kafka.admin.endOffsets(Topics.activityTracked.name);
      const userId = `u-jwt-${run}`;
      expect((await client.call<ingestV1.TrackEventsResponse>('TrackEvents', { events: [event(userId)] })).acceptedCount).toBe(1);
      const [record] = await readTopicUntil(kafka, Topics.activityTracked, {
        since,
        filter: (r) => r.key === userId,
        done: (k) => k.length >= 1,
      });
      expect(record.value!.ingest!.clientId).toBe(`app-${run}`);
      const refused = await reader.call('TrackEvents', { events: [event(`${userId}-2`)] }).catch((e) => e);
      expect(refused.code).toBe(status.PERMISSION_DENIED);
      expect(refused.details).toMatch(/lacks the scope events:write/);
    } finally {
      client.close();
      reader.close();
      await kafka.close();
    }
  });

  it('stops accepting a revoked key within the cache TTL', async () => {
    const key = await issueTestApiKey({ label: 'revoked', scopes: ['events:write'], pgUrl: running.config.PULSE_AUTH_PG_URL });
    const client = grpcClient(running.grpcAddress, PROTO, SERVICE, { credentials: key.key });
    const store = new PgApiKeyStore({ pgUrl: running.config.PULSE_AUTH_PG_URL });
    try {
      const userId = `u-revoke-${run}`;
      expect((await client.call<ingestV1.ValidateEventsResponse>('ValidateEvents', { events: [event(userId)] })).results).toHaveLength(1);
      await store.revoke({ keyId: key.keyId });
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const refused = await client.call('ValidateEvents', { events: [event(userId)] }).catch((e) => e);
      expect(refused.code).toBe(status.UNAUTHENTICATED);
      expect(refused.details).toMatch(/unknown, revoked or expired API key/);
    } finally {
      client.close();
      await store.close();
      await key.remove();
    }
  });

  it('keeps grpc.health.v1 open to callers without credentials', async () => {
    const health = grpcClient(running.grpcAddress, 'grpc/health/v1/health.proto', 'grpc.health.v1.Health');
    try {
      expect(await health.call('Check', { service: SERVICE })).toEqual({ status: 1 });
    } finally {
      health.close();
    }
  });

  it('serves no reflection when GRPC_REFLECTION=false', async () => {
    const closed = await createApp({ GRPC_PORT: '0', HTTP_PORT: '0', LOG_LEVEL: 'warn', GRPC_REFLECTION: 'false' });
    const definition = protoLoader.loadSync(protoFile('grpc/reflection/v1/reflection.proto'), { keepCase: true, oneofs: true });
    const Reflection = (grpc.loadPackageDefinition(definition) as any).grpc.reflection.v1.ServerReflection;
    const reflection = new Reflection(closed.grpcAddress, grpc.credentials.createInsecure());
    try {
      const answer = await new Promise<grpc.ServiceError | undefined>((resolve) => {
        const call = reflection.ServerReflectionInfo();
        call.on('data', () => resolve(undefined));
        call.on('error', (error: grpc.ServiceError) => resolve(error));
        call.write({ list_services: '' });
      });
      expect(answer?.code).toBe(status.UNIMPLEMENTED);
    } finally {
      reflection.close();
      await closed.close();
    }
  });
});

describe('IngestService under fuzzing (tools/fuzz, short)', () => {
  it('answers generated and malformed requests to every RPC with client errors, never INTERNAL or UNKNOWN, and stays up', async () => {
    const report = await fuzzWithTestKey({
      address: running.grpcAddress,
      protoFile: PROTO,
      service: SERVICE,
      pgUrl: running.config.PULSE_AUTH_PG_URL,
    });
    expect(fuzzProblems(report)).toEqual([]);
    expect(report.rpcs.map((r) => r.method)).toEqual(['TrackEvents', 'ValidateEvents']);
  }, 600_000);
});
