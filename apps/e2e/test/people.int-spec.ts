import { cdcTopic, type DebeziumEnvelope, featuresV1, millisToTimestamp, recsV1 } from '@pulse/contracts';
import { grpcClient, PlatformaticKafkaClient, type UnaryClient } from '@pulse/platform';
import {
  deleteRedisKeys,
  eventually,
  issueTestApiKey,
  rejectionOf,
  type ServiceProcess,
  stackCassandraClient,
  startService,
  type TestApiKey,
} from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as PgClient } from 'pg';
import { KAFKA_BROKERS, PG_URL } from './support/app-database';
import { startFeatureStore } from './support/feature-store';

// People you may know as a client reads them: the list the analytics service pushes daily to the feature store's
// user_pymk view, served by the recommender's RecommendUsers without the accounts the user follows now and the users
// blocked either way now (storage, its blocks applied from the app database's CDC topic).
// The built storage, feature store and recommender run on this run's own keyspace, schema, Redis prefixes and groups.
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const keyspace = `people_${run}`;
const fsSchema = `people_fs_${run}`;
const dir = mkdtempSync(join(tmpdir(), `pulse-people-${run}-`));
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:26379';
const prefixes = { fs: `pulse:fs:people:${run}:`, recs: `pulse:recs:people:${run}:` };
const user = (name: string) => `${name}-${run}`;

const services: ServiceProcess[] = [];
const keys: TestApiKey[] = [];
const clients: UnaryClient[] = [];
let recs: UnaryClient;
let storage: UnaryClient;
const computedAt = Date.now() - 3_600_000;
const appSchema = `people_${run}`;

beforeAll(async () => {
  const client = await issueTestApiKey({ label: 'people', scopes: ['recs:read', 'storage:write', 'features:write'], pgUrl: PG_URL });
  const recommenderKey = await issueTestApiKey({ label: 'people-recommender', scopes: ['storage:read', 'features:read'], pgUrl: PG_URL });
  keys.push(client, recommenderKey);
  const storageService = await startService('storage', {
    KAFKA_BROKERS,
    CASSANDRA_KEYSPACE: keyspace,
    STORAGE_AUTO_MIGRATE: 'true',
    STORAGE_CDC_CONSUMER: 'true',
    STORAGE_CDC_SCHEMA: appSchema,
    STORAGE_CDC_GROUP: `people-storage-cdc-${run}`,
    STORAGE_ACTIVITY_CONSUMER: 'false',
    MEDIA_ROOT: join(dir, 'media'),
    MEDIA_SWEEPER: 'false',
  });
  services.push(storageService);
  const features = await startFeatureStore({
    schema: fsSchema,
    lake: join(dir, 'lake'),
    redisPrefix: prefixes.fs,
    group: `people-fs-${run}`,
  });
  services.push(features);
  mkdirSync(join(dir, 'models'));
  const recommender = await startService('recommender', {
    KAFKA_BROKERS,
    REDIS_URL,
    RECS_MODELS_DIR: join(dir, 'models'),
    RECS_REDIS_PREFIX: prefixes.recs,
    RECS_LIVE_GROUP: `people-live-${run}`,
    RECS_CATALOG_GROUP: `people-catalog-${run}`,
    RECS_CDC_SCHEMA: appSchema,
    STORAGE_GRPC_ADDR: storageService.grpcAddress,
    FEATURES_GRPC_ADDR: features.grpcAddress,
    EXPERIMENTS_GRPC_ADDR: '127.0.0.1:9',
    PULSE_API_KEY: recommenderKey.key,
  });
  services.push(recommender);
  const credentials = client.key;
  recs = grpcClient(recommender.grpcAddress, 'pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService', { credentials });
  storage = grpcClient(storageService.grpcAddress, 'pulse/storage/v1/storage_service.proto', 'pulse.storage.v1.StorageService', {
    credentials,
  });
  const featuresClient = grpcClient(features.grpcAddress, 'pulse/features/v1/features_service.proto', 'pulse.features.v1.FeaturesService', {
    credentials,
  });
  clients.push(recs, storage, featuresClient);

  // What the analytics pymk job pushes for ada: five candidates best first (one is ada herself, as a broken job might).
  const candidates = ['bob', 'cid', 'dan', 'ada', 'eve'].map(user);
  await featuresClient.call('Push', {
    featureView: 'user_pymk',
    mode: featuresV1.PushMode.PUSH_MODE_ONLINE,
    rows: [
      {
        joinKeys: { user_id: { stringValue: user('ada') } },
        features: {
          candidates: { stringListValue: { values: candidates } },
          scores: { doubleListValue: { values: [5.5, 4.25, 3, 2, 1] } },
          common_connections: { int64ListValue: { values: [5, 4, 3, 2, 1] } },
        },
        eventTimestamp: millisToTimestamp(computedAt),
      },
    ],
  });
  // Since the list was computed, ada followed cid.
  await storage.call('Follow', { followerId: user('ada'), followeeId: user('cid') });
}, 300_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of services.reverse()) await s.stop().catch(() => undefined);
  for (const key of keys) await key.remove().catch(() => undefined);
  const pg = new PgClient({ connectionString: PG_URL });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS ${fsSchema} CASCADE`).catch(() => undefined);
  await pg.end();
  const cassandra = stackCassandraClient();
  await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).finally(() => cassandra.shutdown());
  for (const prefix of Object.values(prefixes)) await deleteRedisKeys(REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

const recommendUsers = (userId: string, numResults = 0) =>
  recs.call<recsV1.RecommendUsersResponse>('RecommendUsers', { userId, numResults });

describe('people you may know', () => {
  it('serves the pushed list best first, without the user and the accounts followed since it was computed', async () => {
    // The recommender's first calls to its peers may miss their 100 ms budget while connections and key lookups are
    // cold (an honest degraded answer); the list is what a warm recommender serves.
    const response = await eventually(
      () => recommendUsers(user('ada')),
      (r) => r.degraded.length === 0,
    );
    expect(response.users).toEqual([
      { userId: user('bob'), score: 5.5, commonConnections: 5 },
      { userId: user('dan'), score: 3, commonConnections: 3 },
      { userId: user('eve'), score: 1, commonConnections: 1 },
    ]);
    expect(response.computedAt).toEqual(millisToTimestamp(computedAt));
    expect(response.fallbackReason).toBe('');
    expect(response.degraded).toEqual([]);
    expect((await recommendUsers(user('ada'), 2)).users.map((u) => u.userId)).toEqual([user('bob'), user('dan')]);
  });

  it('leaves out the users blocked either way since the list was computed, as soon as storage has the blocks', async () => {
    // ada blocks dan; eve blocks ada: two changes of the app's blocks table, as cdc publishes them.
    const kafka = new PlatformaticKafkaClient({ brokers: KAFKA_BROKERS.split(','), clientId: `people-blocks-${run}` });
    const change = (blocker: string, blocked: string, lsn: number): DebeziumEnvelope => ({
      before: null,
      after: { blocker_id: blocker, blocked_id: blocked, created_at: new Date().toISOString() },
      op: 'c',
      ts_ms: Date.now(),
      source: { db: 'pulse', schema: appSchema, table: 'blocks', lsn, txId: lsn, ts_ms: Date.now(), snapshot: 'false' },
    });
    try {
      await kafka.producer.send(cdcTopic('blocks', appSchema), [
        { key: { blocker_id: user('ada'), blocked_id: user('dan') }, value: change(user('ada'), user('dan'), 100) },
        { key: { blocker_id: user('eve'), blocked_id: user('ada') }, value: change(user('eve'), user('ada'), 101) },
      ]);
    } finally {
      await kafka.close();
    }
    const response = await eventually(
      () => recommendUsers(user('ada')),
      (r) => r.degraded.length === 0 && r.users.length === 1,
    );
    expect(response.users).toEqual([{ userId: user('bob'), score: 5.5, commonConnections: 5 }]);
  });

  it('answers a user without a list with none and the reason', async () => {
    const response = await recommendUsers(user('zed'));
    expect(response.users).toEqual([]);
    expect(response.fallbackReason).toMatch(/^no list for this user yet/);
  });

  it('refuses more than 20 people and a missing user with INVALID_ARGUMENT', async () => {
    expect(await rejectionOf(recommendUsers(user('ada'), 21))).toMatchObject({ code: 3, details: expect.stringMatching(/num_results/) });
    expect(await rejectionOf(recommendUsers(''))).toMatchObject({ code: 3, details: expect.stringMatching(/user_id/) });
  });
});
