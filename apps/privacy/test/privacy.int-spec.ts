import type { ServiceError } from '@grpc/grpc-js';
import { defineTopic, privacyV1, Topics, utf8Codec } from '@pulse/contracts';
import { DeltaTable, LakeEngine, LocalLakeStorage } from '@pulse/lake';
import { grpcClient, LOCAL_SUBJECT_KEY, PlatformaticKafkaClient, subjectHash, type UnaryClient } from '@pulse/platform';
import {
  authorisationMatrix,
  eventually,
  fuzzProblems,
  fuzzWithTestKey,
  issueTestApiKey,
  matrixProblems,
  readTopicUntil,
  type TestApiKey,
} from '@pulse/platform/testing';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as PgClient } from 'pg';
import { createApp, type RunningApp } from '../src/app.factory';
import { PrivacyGrpcController } from '../src/erasure/privacy.grpc.controller';
import { loadPrivacyConfig } from '../src/config/privacy.config';

// One run: its own schemas (jobs, app tables), Redis prefix, topic, lake and model directories. No other service
// runs: storage and the feature store are left out (empty addresses); every other store is set up here.
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const stack = loadPrivacyConfig();
const schema = `privacy_t_${run}`;
const appSchema = `privacy_app_${run}`;
const dir = mkdtempSync(join(tmpdir(), `privacy-${run}-`));
const userTopic = defineTopic({
  name: `pulse.aggregates.privacy_t_${run}.v1`,
  description: 'a per-user aggregate of the test',
  partitions: 2,
  config: { 'cleanup.policy': 'compact' },
  key: utf8Codec,
  value: utf8Codec,
});
const { ErasureState, StoreState } = privacyV1;

let app: RunningApp;
let client: UnaryClient;
let key: TestApiKey;
let pg: PgClient;
let redis: Redis;
let kafka: PlatformaticKafkaClient;
let engine: LakeEngine;

beforeAll(async () => {
  pg = new PgClient({ connectionString: stack.PG_URL });
  await pg.connect();
  redis = new Redis(stack.REDIS_URL);
  kafka = new PlatformaticKafkaClient({ brokers: stack.KAFKA_BROKERS, clientId: `privacy-t-${run}` });
  engine = await LakeEngine.create({ threads: 1 });
  await kafka.admin.ensureTopics([userTopic]);
  await pg.query(`CREATE SCHEMA ${appSchema}`);
  await pg.query(`CREATE TABLE ${appSchema}.users (id bigint PRIMARY KEY, handle text, email text)`);
  await pg.query(
    `CREATE TABLE ${appSchema}.posts (id bigint PRIMARY KEY, author_id bigint REFERENCES ${appSchema}.users ON DELETE CASCADE)`,
  );
  await pg.query(
    `CREATE TABLE ${appSchema}.comments (id bigint PRIMARY KEY, author_id bigint REFERENCES ${appSchema}.users ON DELETE CASCADE)`,
  );
  await pg.query(
    `CREATE TABLE ${appSchema}.follows (follower_id bigint REFERENCES ${appSchema}.users ON DELETE CASCADE, followee_id bigint REFERENCES ${appSchema}.users ON DELETE CASCADE)`,
  );
  app = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    PRIVACY_PG_SCHEMA: schema,
    PRIVACY_AUTO_MIGRATE: 'true',
    PRIVACY_APP_SCHEMA: appSchema,
    STORAGE_GRPC_ADDR: '',
    FEATURES_GRPC_ADDR: '',
    PRIVACY_REDIS_USER_KEYS: `privacy:t:${run}:u:{user}:*,privacy:t:${run}:a:{user}`,
    PRIVACY_REDIS_REFERENCES: `privacy:t:${run}:u:*:muted=member,privacy:t:${run}:h:*=field:a,privacy:t:${run}:p:*=part:2,privacy:t:${run}:u:*:acts=element:USER|`,
    PRIVACY_KAFKA_USER_TOPICS: `${userTopic.name}:user_id`,
    PRIVACY_MODELS_DIR: join(dir, 'models'),
    LAKE_ROOT: join(dir, 'lake'),
    PRIVACY_LAKE_PURGE_MIN_AGE: '0s',
    PRIVACY_VERIFY_DELAY: '200ms',
    PRIVACY_POLL_INTERVAL: '100ms',
  });
  // The caller of a data-protection desk: it erases and follows erasures, nothing else.
  key = await issueTestApiKey({ label: 'privacy', scopes: ['privacy:erase', 'privacy:read'], pgUrl: app.config.PULSE_AUTH_PG_URL });
  client = grpcClient(app.grpcAddress, 'pulse/privacy/v1/privacy_service.proto', 'pulse.privacy.v1.PrivacyService', {
    credentials: key.key,
  });
}, 120_000);

afterAll(async () => {
  client?.close();
  await key?.remove();
  await app?.close();
  await kafka?.admin.deleteTopics([userTopic.name]).catch(() => undefined);
  await kafka?.close();
  engine?.close();
  for (const s of [schema, appSchema]) await pg?.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
  await pg?.end();
  const keys = await redis.keys(`privacy:t:${run}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

/** A registry version as the recommender writes it: ids, a TF.js model with user embeddings, seen items. */
function writeModelVersion(users: string[]): string {
  const version = join(dir, 'models', 'versions', `20260101T000000Z-mf-${run}`);
  mkdirSync(join(version, 'model'), { recursive: true });
  writeFileSync(join(version, 'ids.json'), JSON.stringify({ users, items: ['p1', 'p2'] }));
  const weights = [
    { name: 'user_gmf/embeddings', shape: [users.length, 2], dtype: 'float32' },
    { name: 'item_gmf/embeddings', shape: [2, 2], dtype: 'float32' },
  ];
  writeFileSync(join(version, 'model', 'model.json'), JSON.stringify({ weightsManifest: [{ paths: ['weights.bin'], weights }] }));
  const values = Float32Array.from({ length: users.length * 2 + 4 }, (_, i) => i + 1);
  writeFileSync(join(version, 'model', 'weights.bin'), Buffer.from(values.buffer));
  // user 0 saw p1, user 1 saw p1 and p2, user 2 nothing.
  writeFileSync(join(version, 'seen.offsets.bin'), Buffer.from(Int32Array.of(0, 1, 3, 3).buffer));
  writeFileSync(join(version, 'seen.items.bin'), Buffer.from(Int32Array.of(0, 0, 1).buffer));
  return version;
}

const erase = (userId: string) =>
  client.call<privacyV1.EraseUserResponse>('EraseUser', { userId, basis: privacyV1.ErasureBasis.ERASURE_BASIS_GDPR_ART_17 });
const get = (jobId: string) => client.call<privacyV1.GetErasureResponse>('GetErasure', { jobId }).then((r) => r.erasure!);
const completed = (jobId: string) =>
  eventually(
    () => get(jobId),
    (e) => e?.state === ErasureState.ERASURE_STATE_COMPLETED,
    60_000,
  );

describe('privacy', () => {
  it('is ready once its dependencies answer', async () => {
    expect((await fetch(`${app.httpUrl}/health/ready`)).status).toBe(200);
  });

  it('answers every RPC UNAUTHENTICATED without credentials, PERMISSION_DENIED with another scope, and for itself with its scope', async () => {
    const rows = await authorisationMatrix({
      address: app.grpcAddress,
      protoFile: 'pulse/privacy/v1/privacy_service.proto',
      service: 'pulse.privacy.v1.PrivacyService',
      controller: PrivacyGrpcController,
      pgUrl: app.config.PULSE_AUTH_PG_URL,
    });
    expect(matrixProblems(rows)).toEqual([]);
    expect(rows.map((r) => [r.rpc.split('/')[1], r.scope])).toEqual([
      ['EraseUser', 'privacy:erase'],
      ['GetErasure', 'privacy:read'],
      ['ListErasures', 'privacy:read'],
    ]);
  });

  it('answers generated and malformed requests to every RPC with client errors, never INTERNAL or UNKNOWN, and stays up (tools/fuzz, short)', async () => {
    expect(
      fuzzProblems(
        await fuzzWithTestKey({
          address: app.grpcAddress,
          protoFile: 'pulse/privacy/v1/privacy_service.proto',
          service: 'pulse.privacy.v1.PrivacyService',
          pgUrl: app.config.PULSE_AUTH_PG_URL,
        }),
      ),
    ).toEqual([]);
  }, 900_000);

  it('refuses a malformed user id and an unknown job with the field at fault', async () => {
    const bad = (await erase('not an id!').catch((e: ServiceError) => e)) as ServiceError;
    expect(bad.code).toBe(3);
    expect(bad.details).toContain('user_id');
    const unknown = (await get(randomUUID()).catch((e: ServiceError) => e)) as ServiceError;
    expect(unknown.code).toBe(5);
  });

  it("erases a user whose id is a word of the key layout (u, p, a, acts) without touching anyone else's keys", async () => {
    const bystander = `by${run.slice(0, 6)}`;
    await redis.rpush(`privacy:t:${run}:u:${bystander}:acts`, 'POST|LIKE|1|u', 'USER|FOLLOW|2|acts');
    await redis.sadd(`privacy:t:${run}:u:${bystander}:seen`, 'u', 'p');
    await redis.hset(`privacy:t:${run}:h:77`, { a: bystander, d: 'u', c: 'p' });
    await redis.set(`privacy:t:${run}:p:77`, `0\tu\t${bystander}\tp\tacts`);
    await redis.zadd(`privacy:t:${run}:a:${bystander}`, 1, 'a');
    for (const userId of ['u', 'p', 'a', 'acts']) {
      const started = await erase(userId);
      expect((await completed(started.erasure!.jobId)).state).toBe(ErasureState.ERASURE_STATE_COMPLETED);
    }
    expect(await redis.lrange(`privacy:t:${run}:u:${bystander}:acts`, 0, -1)).toEqual(['POST|LIKE|1|u']);
    expect((await redis.smembers(`privacy:t:${run}:u:${bystander}:seen`)).sort()).toEqual(['p', 'u']);
    expect(await redis.hgetall(`privacy:t:${run}:h:77`)).toEqual({ a: bystander, d: 'u', c: 'p' });
    expect(await redis.get(`privacy:t:${run}:p:77`)).toBe(`0\tu\t${bystander}\tp\tacts`);
    expect(await redis.zrange(`privacy:t:${run}:a:${bystander}`, 0, -1)).toEqual(['a']);
  }, 120_000);

  it('erases a user from the app database, Redis, a compacted topic, the lake and the model registry, verifies it, and keeps only a hash', async () => {
    const userId = String(7_000_000_000 + Math.floor(Math.random() * 1e9));
    const other = String(Number(userId) + 1);
    // App database: the user, a post, a follow from someone else.
    await pg.query(`INSERT INTO ${appSchema}.users VALUES ($1, 'ada', 'ada@example.org'), ($2, 'bob', 'bob@example.org')`, [userId, other]);
    await pg.query(`INSERT INTO ${appSchema}.posts VALUES (1, $1)`, [userId]);
    await pg.query(`INSERT INTO ${appSchema}.follows VALUES ($1, $2)`, [other, userId]);
    // Redis: the user's live state, and another user's.
    await redis.rpush(`privacy:t:${run}:u:${userId}:acts`, 'POST|LIKE|1|p1');
    await redis.sadd(`privacy:t:${run}:u:${userId}:seen`, 'p1');
    await redis.rpush(`privacy:t:${run}:u:${other}:acts`, 'POST|LIKE|1|p1', `USER|FOLLOW|2|${userId}`);
    // References elsewhere: the author of a post in the recommender's catalogue (a string: deleted, created, author,
    // tags) and in a hash, another user's muted accounts, the author index.
    await redis.set(`privacy:t:${run}:p:1`, `1\t5\t${userId}\tsport`);
    await redis.set(`privacy:t:${run}:p:2`, `0\t5\t${other}\t${userId}`);
    await redis.hset(`privacy:t:${run}:h:1`, { a: userId, d: '1' });
    await redis.sadd(`privacy:t:${run}:u:${other}:muted`, userId, 'u-9');
    await redis.zadd(`privacy:t:${run}:a:${userId}`, 1, '1');
    // Kafka: two windows of the user, one of the other user.
    const key = (start: string, user: string) => `${start}|user_id=${user}`;
    await kafka.producer.send(userTopic, [
      { key: key('2026-01-01T00:00:00.000Z', userId), value: 'w1' },
      { key: key('2026-01-01T01:00:00.000Z', userId), value: 'w2' },
      { key: key('2026-01-01T00:00:00.000Z', other), value: 'w3' },
    ]);
    // Lake: a table with the user's rows, compacted once (a removed file holds them too).
    const storage = new LocalLakeStorage(join(dir, 'lake'));
    const table = await DeltaTable.create(
      storage,
      'bronze/activity',
      {
        columns: [
          { name: 'event_id', type: 'string' },
          { name: 'user_id', type: 'string' },
        ],
      },
      { engine },
    );
    await table.append([
      { event_id: 'e1', user_id: userId },
      { event_id: 'e2', user_id: other },
    ]);
    await table.append([{ event_id: 'e3', user_id: userId }]);
    await table.compact({ targetFileSize: 64 * 1024 * 1024 });
    // Models: the user is user 1 of a version.
    const version = writeModelVersion([other, userId, 'u-3']);

    const first = await erase(userId);
    expect(first.created).toBe(true);
    const again = await erase(userId);
    expect(again.created).toBe(false);
    expect(again.erasure!.jobId).toBe(first.erasure!.jobId);
    expect(first.erasure!.subjectHash).toBe(subjectHash(LOCAL_SUBJECT_KEY, userId));

    const done = await completed(first.erasure!.jobId);
    expect(done.state).toBe(ErasureState.ERASURE_STATE_COMPLETED);
    expect(done.stores.map((s) => s.store)).toEqual([
      'erasure_list',
      'app_database',
      'storage',
      'feature_store',
      'redis',
      'models',
      'kafka',
      'lake',
      'lake_purge',
    ]);
    expect(done.stores.every((s) => s.state === StoreState.STORE_STATE_VERIFIED)).toBe(true);
    const erased = Object.fromEntries(
      done.stores.map((s) => [s.store, Object.fromEntries(Object.entries(s.erased).map(([k, v]) => [k, Number(v)]))]),
    );
    expect(erased).toMatchObject({
      erasure_list: { listed: 1 },
      app_database: { users: 1, posts: 1, follows: 1 },
      redis: { keys: 3, references: 4 },
      models: { versions: 1, embedding_rows: 1, seen_items: 2 },
      kafka: { tombstones: 2 },
      lake: { rows: 2, tables: 1 },
    });
    expect(erased['lake_purge'].files_purged).toBeGreaterThan(0);
    expect(done.passes).toBeGreaterThanOrEqual(2);
    expect(done.attempts).toBe(1);

    // Every store, scanned: nothing of the user.
    const { rows: users } = await pg.query(`SELECT id FROM ${appSchema}.users`);
    expect(users.map((r) => String(r.id))).toEqual([other]);
    expect(await redis.keys(`privacy:t:${run}:u:${userId}:*`)).toEqual([]);
    expect(await redis.lrange(`privacy:t:${run}:u:${other}:acts`, 0, -1)).toEqual(['POST|LIKE|1|p1']);
    expect(await redis.smembers(`privacy:t:${run}:u:${other}:muted`)).toEqual(['u-9']);
    expect(await redis.exists(`privacy:t:${run}:p:1`)).toBe(0);
    // Only the author part counts: a tag equal to the id is someone else's post.
    expect(await redis.get(`privacy:t:${run}:p:2`)).toBe(`0\t5\t${other}\t${userId}`);
    expect(await redis.hgetall(`privacy:t:${run}:h:1`)).toEqual({ d: '1' });
    const records = await readTopicUntil(kafka, userTopic, { filter: () => true, done: (k) => k.length >= 5, timeoutMs: 10_000 });
    const latest = new Map(records.map((r) => [r.key, r.value]));
    expect([...latest].filter(([k, v]) => k!.includes(userId) && v !== null)).toEqual([]);
    expect(latest.get(key('2026-01-01T00:00:00.000Z', other))).toBe('w3');
    const reopened = await DeltaTable.open(storage, 'bronze/activity', { engine });
    const live = await engine.query<{ u: string }>(`SELECT user_id AS u FROM ${await reopened.scanSql()}`);
    expect(live.map((r) => r.u)).toEqual([other]);
    const onDisk = await engine.query<{ n: number }>(
      `SELECT count(*)::INT AS n FROM read_parquet('${join(dir, 'lake', 'bronze', 'activity')}/**/*.parquet', union_by_name = true) WHERE to_json(COLUMNS(*))::VARCHAR LIKE '%${userId}%'`,
    );
    expect(onDisk[0].n).toBe(0);
    const ids = JSON.parse(readFileSync(join(version, 'ids.json'), 'utf8'));
    expect(ids.users).toEqual([other, '~erased-1', 'u-3']);
    const binary = (path: string) => {
      const b = readFileSync(path);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    };
    // Row 1 of the user embeddings is zeros, the others and the item embeddings stay; the user's seen items are gone.
    expect([...new Float32Array(binary(join(version, 'model', 'weights.bin')))]).toEqual([1, 2, 0, 0, 5, 6, 7, 8, 9, 10]);
    expect([...new Int32Array(binary(join(version, 'seen.offsets.bin')))]).toEqual([0, 1, 1, 1]);
    expect([...new Int32Array(binary(join(version, 'seen.items.bin')))]).toEqual([0]);

    // The erasure list names the subject by hash; the service's own tables keep the hash and the figures, not the id.
    const listed = await readTopicUntil(kafka, Topics.privacyErasures, {
      filter: (r) => r.key === done.subjectHash,
      done: (k) => k.length >= 1,
    });
    expect(listed[0].value!.jobId).toBe(done.jobId);
    for (const t of ['erasure_jobs', 'erasure_steps', 'erasure_audit']) {
      const { rows } = await pg.query(`SELECT * FROM ${schema}.${t}`);
      expect(JSON.stringify(rows)).not.toContain(userId);
    }
    const { rows: audit } = await pg.query(`SELECT event FROM ${schema}.erasure_audit WHERE job_id = $1 ORDER BY id`, [done.jobId]);
    expect(audit[0].event).toBe('requested');
    expect(audit[audit.length - 1].event).toBe('completed');

    // After completion a request for the same user still returns the same job.
    expect((await erase(userId)).erasure!.jobId).toBe(done.jobId);
    const page = await client.call<privacyV1.ListErasuresResponse>('ListErasures', { pageSize: 10 });
    expect(page.erasures.map((e) => e.jobId)).toContain(done.jobId);
  });
});
