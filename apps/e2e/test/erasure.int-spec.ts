import type { ServiceError } from '@grpc/grpc-js';
import {
  aggregateTopic,
  cdcTopic,
  featuresV1,
  ingestV1,
  millisToTimestamp,
  privacyV1,
  recsV1,
  type storageV1,
  Topics,
} from '@pulse/contracts';
import { grpcClient, PlatformaticKafkaClient, type UnaryClient } from '@pulse/platform';
import {
  eventually,
  groupsAtEnd,
  issueTestApiKey,
  readTopicUntil,
  runBuilt,
  type ServiceProcess,
  startService,
  type TestApiKey,
} from '@pulse/platform/testing';
import Redis from 'ioredis';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as PgClient } from 'pg';
import { startFeatureStore } from './support/feature-store';
import { CASSANDRA, dropAppDatabase, KAFKA_BROKERS, migrateAppDatabase, PG_URL, startAppDatabase } from './support/app-database';
import {
  deltaRsRows,
  lakeTables,
  scanCassandra,
  scanFiles,
  scanLakeFiles,
  scanLakeWithDeltaRs,
  scanPostgres,
  scanRedis,
  scanTopic,
} from './support/trace-scan';

// Erasure of a user across the whole platform, as an auditor checks it. The built cdc, storage, ingest, etl,
// feature-store, recommender and privacy services run as separate processes on this run's own schemas, keyspace,
// Redis prefixes, consumer groups, lake and model directories. Two users get a profile, follows both ways, posts,
// activity tracked through ingest (in Cassandra, the lake's bronze and aggregate tables, the aggregates topics, the
// online features and the recommender's live state), media (one object shared with another user, one archived),
// pushed features (online and in the lake), served recommendation lists and a trained model; then privacy erases
// them, the second one with a kill -9 of the privacy service in the middle, and every store is scanned for their ids
// and emails.
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:26379';
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const schema = `erase_${run}`;
const keyspace = `erase_${run}`;
const fsSchema = `erase_fs_${run}`;
const privacySchema = `erase_privacy_${run}`;
const dir = mkdtempSync(join(tmpdir(), `pulse-erase-${run}-`));
const lake = join(dir, 'lake');
const models = join(dir, 'models');
const media = join(dir, 'media');
const archive = join(dir, 'archive');
const prefixes = { fs: `erase:${run}:fs:`, recs: `erase:${run}:recs:`, dedup: `erase:${run}:dedup:` };
const { ErasureState, StoreState } = privacyV1;

/** Ids from a range no other run uses, long enough that a match is never a coincidence. */
const base = 9_100_000_000_000 + Math.floor(Math.random() * 1e9) * 1000;
const people = {
  ada: { id: String(base + 1), handle: `ada_${run}`, email: `ada.${run}@erase.example.org` },
  eve: { id: String(base + 2), handle: `eve_${run}`, email: `eve.${run}@erase.example.org` },
  bob: { id: String(base + 3), handle: `bob_${run}`, email: `bob.${run}@erase.example.org` },
  cid: { id: String(base + 4), handle: `cid_${run}`, email: `cid.${run}@erase.example.org` },
};
/** The erased users: ada normally, eve with a kill -9 of privacy in the middle. */
const erased = [people.ada, people.eve];

let pg: PgClient;
let redis: Redis;
let kafka: PlatformaticKafkaClient;
const services: Record<string, ServiceProcess> = {};
/**
 * The keys of the run: the test's own (what a client and a data-protection desk call with), the recommender's for
 * its calls to storage and the feature store, and the privacy service's, which may only erase.
 */
const apiKeys = {} as Record<'client' | 'recommender' | 'privacy', TestApiKey>;
const clients: UnaryClient[] = [];
let storage: UnaryClient;
let ingest: UnaryClient;
let features: UnaryClient;
let recs: UnaryClient;
let trackedStart: bigint[];
const contents = new Map<string, Buffer[]>();
const posts: string[] = [];

const privacyEnv = () => ({
  KAFKA_BROKERS,
  PG_URL,
  REDIS_URL,
  PRIVACY_PG_SCHEMA: privacySchema,
  PRIVACY_AUTO_MIGRATE: 'true',
  PRIVACY_APP_SCHEMA: schema,
  STORAGE_GRPC_ADDR: services.storage.grpcAddress,
  FEATURES_GRPC_ADDR: services.features.grpcAddress,
  PRIVACY_REDIS_USER_KEYS: `${prefixes.recs}u:{user}:*,${prefixes.recs}a:{user}`,
  PRIVACY_REDIS_REFERENCES: `${prefixes.recs}u:*:muted=member,${prefixes.recs}post:*=part:2,${prefixes.recs}u:*:acts=element:USER|`,
  PRIVACY_MODELS_DIR: models,
  LAKE_ROOT: lake,
  PRIVACY_LAKE_PURGE_MIN_AGE: '2s',
  // Long enough for events in flight when the erasure starts to reach every consumer.
  PRIVACY_VERIFY_DELAY: '5s',
  PRIVACY_POLL_INTERVAL: '200ms',
  // EraseUserData on storage and DeleteEntity on the feature store need privacy:erase.
  PULSE_API_KEY: apiKeys.privacy.key,
});

function client(service: ServiceProcess, proto: string, name: string): UnaryClient {
  const c = grpcClient(service.grpcAddress, proto, name, { credentials: apiKeys.client.key });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  pg = new PgClient({ connectionString: PG_URL });
  await pg.connect();
  redis = new Redis(REDIS_URL);
  kafka = new PlatformaticKafkaClient({ brokers: KAFKA_BROKERS.split(','), clientId: `erase-${run}` });
  apiKeys.client = await issueTestApiKey({
    label: 'erase',
    scopes: [
      'storage:read',
      'storage:write',
      'events:write',
      'features:read',
      'features:write',
      'recs:read',
      'privacy:erase',
      'privacy:read',
    ],
    pgUrl: PG_URL,
  });
  apiKeys.recommender = await issueTestApiKey({ label: 'erase-recommender', scopes: ['storage:read', 'features:read'], pgUrl: PG_URL });
  apiKeys.privacy = await issueTestApiKey({ label: 'erase-privacy', scopes: ['privacy:erase'], pgUrl: PG_URL });
  const aggregates = ['post_engagement_1h', 'user_actions_1h', 'user_sessions'].map((a) => aggregateTopic(a));
  await kafka.admin.ensureTopics([Topics.activityLate, Topics.privacyErasures]);
  // Every consumer of a shared topic starts where it ends now.
  const etlGroups = ['activity_bronze', 'agg_post_engagement_1h', 'agg_user_actions_1h', 'agg_user_sessions'].map(
    (stream) => `erase-etl-${run}.${stream}`,
  );
  const ends = await groupsAtEnd(kafka, [...etlGroups, `erase-activity-${run}`, `erase-live-${run}`], [Topics.activityTracked]);
  trackedStart = ends.get(Topics.activityTracked.name)!;
  await groupsAtEnd(kafka, [`erase-etl-${run}.recs_served_bronze`], [Topics.recsServed]);
  await groupsAtEnd(kafka, [`erase-fs-${run}`], aggregates);

  // The app database: four people with explicit ids, posts by the others.
  await migrateAppDatabase(schema);
  for (const p of Object.values(people)) {
    await pg.query(`INSERT INTO ${schema}.users (id, handle, display_name, email, bio) VALUES ($1, $2, $2, $3, 'hello')`, [
      p.id,
      p.handle,
      p.email,
    ]);
  }
  for (let i = 0; i < 12; i++) {
    const author = i % 2 ? people.bob.id : people.cid.id;
    const { rows } = await pg.query(`INSERT INTO ${schema}.posts (id, author_id, body, tags) VALUES ($1, $2, $3, $4) RETURNING id`, [
      base + 100 + i,
      author,
      `post ${i}`,
      ['jazz'],
    ]);
    posts.push(String(rows[0].id));
  }
  for (const p of erased) {
    await pg.query(`INSERT INTO ${schema}.posts (id, author_id, body) VALUES ($1, $2, 'my own post')`, [Number(p.id) + 500, p.id]);
    await pg.query(`INSERT INTO ${schema}.follows (follower_id, followee_id) VALUES ($1, $2), ($2, $1), ($3, $1)`, [
      p.id,
      people.bob.id,
      people.cid.id,
    ]);
  }

  // A model trained on interactions of the erased users and others.
  const lines = ['userId,movieId,rating,timestamp'];
  for (const [u, user] of [
    people.ada.id,
    people.eve.id,
    people.bob.id,
    people.cid.id,
    ...Array.from({ length: 20 }, (_, i) => `past-${i}`),
  ].entries()) {
    for (let k = 0; k < 6; k++) lines.push(`${user},${posts[(u + k * 5) % posts.length]},1,${1_700_000_000 + u * 100 + k}`);
  }
  writeFileSync(join(dir, 'ratings.csv'), `${lines.join('\n')}\n`);
  await runBuilt('recommender', 'recs.js', {}, [
    'train',
    join(dir, 'ratings.csv'),
    '--model',
    'mf',
    '--models-dir',
    models,
    '--epochs',
    '5',
    '--promote',
  ]);

  services.cdc = await startAppDatabase(schema);
  services.storage = await startService('storage', {
    KAFKA_BROKERS,
    CASSANDRA_CONTACT_POINTS: CASSANDRA,
    CASSANDRA_KEYSPACE: keyspace,
    STORAGE_AUTO_MIGRATE: 'true',
    STORAGE_CDC_SCHEMA: schema,
    STORAGE_CDC_GROUP: `erase-cdc-${run}`,
    STORAGE_ACTIVITY_GROUP: `erase-activity-${run}`,
    MEDIA_ROOT: media,
    MEDIA_ARCHIVE_ROOT: archive,
    MEDIA_SWEEPER: 'false',
  });
  services.features = await startFeatureStore({ schema: fsSchema, lake, redisPrefix: prefixes.fs, group: `erase-fs-${run}` });
  services.etl = await startService('etl', {
    KAFKA_BROKERS,
    LAKE_ROOT: lake,
    ETL_GROUP_PREFIX: `erase-etl-${run}.`,
    ETL_CDC_TABLES: ['users', 'follows', 'posts', 'comments'].map((t) => `${schema}.${t}`).join(','),
    ETL_WATERMARK_DELAY: '0s',
    ETL_ALLOWED_LATENESS: '0s',
    ETL_TRIGGER_INTERVAL: '200ms',
    LAKE_COMPACTION_INTERVAL: '0s',
  });
  services.ingest = await startService('ingest', { KAFKA_BROKERS, REDIS_URL, INGEST_DEDUP_KEY_PREFIX: prefixes.dedup });
  services.recs = await startService('recommender', {
    KAFKA_BROKERS,
    REDIS_URL,
    RECS_MODELS_DIR: models,
    RECS_REDIS_PREFIX: prefixes.recs,
    RECS_LIVE_GROUP: `erase-live-${run}`,
    RECS_CATALOG_GROUP: `erase-catalog-${run}`,
    RECS_CDC_SCHEMA: schema,
    STORAGE_GRPC_ADDR: services.storage.grpcAddress,
    FEATURES_GRPC_ADDR: services.features.grpcAddress,
    PULSE_API_KEY: apiKeys.recommender.key,
  });
  services.privacy = await startService('privacy', privacyEnv());
  storage = client(services.storage, 'pulse/storage/v1/storage_service.proto', 'pulse.storage.v1.StorageService');
  ingest = client(services.ingest, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService');
  features = client(services.features, 'pulse/features/v1/features_service.proto', 'pulse.features.v1.FeaturesService');
  recs = client(services.recs, 'pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService');
}, 600_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of Object.values(services).reverse()) await s.stop().catch(() => undefined);
  await kafka?.close();
  for (const key of Object.values(apiKeys)) await key.remove().catch(() => undefined);
  if (pg) {
    for (const s of [fsSchema, privacySchema]) await pg.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
    await dropAppDatabase(pg, schema, keyspace);
    await pg.end();
  }
  if (redis) {
    for (const prefix of Object.values(prefixes)) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  }
  rmSync(dir, { recursive: true, force: true });
}, 180_000);

/** PutMedia: the metadata message, then the content. */
function putMedia(ownerId: string, bytes: Buffer, filename: string): Promise<storageV1.PutMediaResponse> {
  return new Promise((resolveCall, reject) => {
    const call = (storage.raw as any).PutMedia(
      storage.metadata(),
      { deadline: Date.now() + 30_000 },
      (error: ServiceError | null, response: storageV1.PutMediaResponse) => (error ? reject(error) : resolveCall(response)),
    );
    call.write({ metadata: { ownerId, contentType: 'image/png', filename } });
    call.write({ chunk: bytes });
    call.end();
  });
}

let sequence = 0;
function event(userId: string, type: ingestV1.ActivityType, target: string, at: number, targetType = ingestV1.TargetType.TARGET_TYPE_POST) {
  return {
    eventId: `erase-${run}-${sequence++}`,
    userId,
    type,
    target: { type: targetType, id: target },
    occurredAt: millisToTimestamp(at),
    sessionId: `s-${userId}`,
    context: { platform: ingestV1.Platform.PLATFORM_WEB, userAgent: `Mozilla/5.0 (${run})`, ipAddress: '203.0.113.77' },
  };
}

const everything = () => [...erased.map((p) => p.id), ...erased.map((p) => p.email)];

/** Every store, scanned for the needles (ids, emails). */
async function scanAll(needles: string[]): Promise<string[]> {
  const found: string[] = [];
  found.push(...(await scanPostgres(pg, [schema, `${schema}_state`, fsSchema, privacySchema], needles)));
  found.push(...(await scanCassandra(keyspace, needles)));
  found.push(...(await scanRedis(redis, Object.values(prefixes), needles)));
  found.push(...scanLakeWithDeltaRs(lake, needles));
  found.push(...(await scanLakeFiles(lake, needles)));
  found.push(
    ...scanFiles(
      'media',
      media,
      needles,
      needles.flatMap((n) => contents.get(n) ?? []),
    ),
  );
  found.push(
    ...scanFiles(
      'archive',
      archive,
      needles,
      needles.flatMap((n) => contents.get(n) ?? []),
    ),
  );
  found.push(...scanFiles('models', models, needles));
  // Compacted topics: what they keep holds nothing of the user (every key of theirs ends in a tombstone).
  for (const topic of [
    ...['users', 'follows', 'posts', 'comments'].map((t) => cdcTopic(t, schema)),
    aggregateTopic('user_actions_1h'),
    aggregateTopic('user_sessions'),
  ]) {
    const { liveKeys } = await scanTopic(kafka, topic, needles);
    found.push(...liveKeys.map((k) => `kafka (kept): ${topic.name} ${k}`));
  }
  return found;
}

const erasure = (jobId: string) =>
  client(services.privacy, 'pulse/privacy/v1/privacy_service.proto', 'pulse.privacy.v1.PrivacyService')
    .call<privacyV1.GetErasureResponse>('GetErasure', { jobId })
    .then((r) => r.erasure!);

/** The figures of a job: total time, and per store its state, counts and time. */
function figures(e: privacyV1.Erasure) {
  const ms = (t?: { seconds: number | string; nanos: number }) => (t ? Number(t.seconds) * 1000 + t.nanos / 1e6 : NaN);
  const busy = (d?: { seconds: number | string; nanos: number }) => (d ? Number(d.seconds) + d.nanos / 1e9 : 0);
  return {
    // Until every store was erased once, and until the verification pass that found nothing.
    erasedSeconds: (ms(e.erasedAt) - ms(e.requestedAt)) / 1000,
    verifiedSeconds: (ms(e.finishedAt) - ms(e.requestedAt)) / 1000,
    passes: e.passes,
    attempts: e.attempts,
    stores: Object.fromEntries(
      e.stores.map((s) => [
        s.store,
        {
          state: StoreState[s.state],
          erased: Object.fromEntries(Object.entries(s.erased).map(([k, v]) => [k, Number(v)])),
          busySeconds: busy(s.busy),
        },
      ]),
    ),
  };
}

describe('erasure of a user from every store', () => {
  it('first: the users are everywhere a user can be, their emails nowhere but the app database', async () => {
    const now = Date.now();
    for (const p of [...erased, people.bob]) {
      await eventually(
        () => storage.call<storageV1.GetProfileResponse>('GetProfile', { userId: p.id }),
        (r) => r?.profile?.handle === p.handle,
        90_000,
      );
    }
    const shared = randomBytes(2048);
    for (const p of erased) {
      const own = randomBytes(4096);
      contents.set(p.id, [own]);
      await putMedia(p.id, own, 'me.png');
      await putMedia(p.id, shared, 'shared.png');
    }
    const bobs = await putMedia(people.bob.id, shared, 'also.png');
    // Events an hour and a half ago, then one now: their windows close and go final.
    const old = now - 90 * 60_000;
    const { ActivityType } = ingestV1;
    for (const p of [...erased, people.bob]) {
      await ingest.call('TrackEvents', {
        clientId: 'e2e',
        events: [
          event(p.id, ActivityType.ACTIVITY_TYPE_VIEW, posts[0], old),
          event(p.id, ActivityType.ACTIVITY_TYPE_LIKE, posts[1], old + 1000),
          event(
            p.id,
            ActivityType.ACTIVITY_TYPE_FOLLOW,
            people.bob.id === p.id ? people.cid.id : people.bob.id,
            old + 2000,
            ingestV1.TargetType.TARGET_TYPE_USER,
          ),
        ],
      });
    }
    await ingest.call('TrackEvents', {
      clientId: 'e2e',
      events: erased.map((p) => event(p.id, ActivityType.ACTIVITY_TYPE_VIEW, posts[2], now)),
    });
    for (const p of [...erased, people.bob]) {
      await features.call('Push', {
        featureView: 'user_profile',
        mode: featuresV1.PushMode.PUSH_MODE_ONLINE_AND_OFFLINE,
        rows: [
          {
            joinKeys: { user_id: { stringValue: p.id } },
            features: {
              account_age_days: { int64Value: 3 },
              followers: { int64Value: 2 },
              following: { int64Value: 1 },
              locale: { stringValue: 'en' },
            },
            eventTimestamp: millisToTimestamp(now),
          },
        ],
      });
      const recommended = await recs.call<recsV1.RecommendResponse>('Recommend', { userId: p.id, numResults: 5 });
      expect(recommended.items.length).toBeGreaterThan(0);
    }

    // Everything arrived: activity in Cassandra, online features, live state, lake rows of every kind.
    for (const p of erased) {
      await eventually(
        () => storage.call<storageV1.ListActivityResponse>('ListActivity', { userId: p.id, pageSize: 10 }).then((r) => r.activities.length),
        (n) => n === 4,
        60_000,
      );
      const online = await eventually(
        () =>
          features.call<featuresV1.GetOnlineFeaturesResponse>('GetOnlineFeatures', {
            entityRows: [{ joinKeys: { user_id: { stringValue: p.id } } }],
            features: { refs: ['user_actions_1h:views', 'user_profile:locale'] },
          }),
        (r) => r?.rows[0]?.features.every((f) => f.status !== featuresV1.FeatureStatus.FEATURE_STATUS_NOT_FOUND) ?? false,
        90_000,
      );
      expect(online.rows[0].features.map((f) => f.status)).not.toContain(featuresV1.FeatureStatus.FEATURE_STATUS_NOT_FOUND);
      expect(await redis.keys(`${prefixes.recs}u:${p.id}:*`)).not.toEqual([]);
    }
    const tables = () => lakeTables(lake).map((t) => t.slice(lake.length + 1));
    await eventually(
      async () => tables(),
      (t) =>
        [
          'bronze/activity',
          'bronze/recs_served',
          `bronze/cdc/${schema}.users`,
          'agg/user_actions_1h',
          'agg/user_sessions',
          'features/user_profile',
        ].every((x) => t.includes(x)),
      90_000,
    );
    const holdsAda = (table: string) => () => Promise.resolve(JSON.stringify(deltaRsRows(join(lake, table))).includes(people.ada.id));
    for (const table of [
      'bronze/activity',
      'bronze/recs_served',
      `bronze/cdc/${schema}.users`,
      `bronze/cdc/${schema}.follows`,
      'agg/user_actions_1h',
      'agg/user_sessions',
      'features/user_profile',
    ]) {
      expect(await eventually(holdsAda(table), (yes) => yes, 90_000)).toBe(true);
    }
    expect(
      JSON.parse(
        readFileSync(
          join(models, 'versions', JSON.parse(readFileSync(join(models, 'registry.json'), 'utf8')).promoted, 'ids.json'),
          'utf8',
        ),
      ).users,
    ).toContain(people.ada.id);
    expect((await storage.call<storageV1.GetFollowCountsResponse>('GetFollowCounts', { userId: people.bob.id })).counts).toMatchObject({
      followers: 2,
      following: 2,
    });
    expect(bobs.media?.sha256).toBe(createHash('sha256').update(shared).digest('hex'));

    // The ids are everywhere; the emails never left the app database (cdc's column exclude list), and neither did the
    // clients' IP address and User-Agent (ingest).
    const before = await scanAll(erased.map((p) => p.id));
    for (const store of [
      'postgres',
      'cassandra',
      'redis',
      'lake (delta-rs)',
      'lake (disk)',
      'media',
      'archive',
      'models',
      'kafka (kept)',
    ]) {
      if (store !== 'archive') expect(before.some((f) => f.startsWith(`${store}:`))).toBe(true);
    }
    const emails = await scanAll(erased.map((p) => p.email));
    expect(emails.filter((f) => !f.startsWith(`postgres: ${schema}.users`))).toEqual([]);
    const tracked = await readTopicUntil(kafka, Topics.activityTracked, {
      since: trackedStart,
      filter: (r) => erased.some((p) => p.id === r.value?.event?.userId),
      done: (k) => k.length >= 8,
    });
    expect(tracked).toHaveLength(8);
    expect(JSON.stringify(tracked.map((r) => r.value))).not.toMatch(new RegExp(`203\\.0\\.113\\.77|Mozilla/5\\.0 \\(${run}\\)`));
  }, 600_000);

  it('erases a user everywhere in one call, and a second call returns the same job', async () => {
    const privacy = client(services.privacy, 'pulse/privacy/v1/privacy_service.proto', 'pulse.privacy.v1.PrivacyService');
    const started = await privacy.call<privacyV1.EraseUserResponse>('EraseUser', {
      userId: people.ada.id,
      basis: privacyV1.ErasureBasis.ERASURE_BASIS_GDPR_ART_17,
    });
    expect(started.created).toBe(true);
    const again = await privacy.call<privacyV1.EraseUserResponse>('EraseUser', { userId: people.ada.id });
    expect(again).toMatchObject({ created: false, erasure: { jobId: started.erasure!.jobId } });
    const done = await eventually(
      () => erasure(started.erasure!.jobId),
      (e) => e?.state === ErasureState.ERASURE_STATE_COMPLETED,
      300_000,
    );
    expect(done.stores.every((s) => s.state === StoreState.STORE_STATE_VERIFIED)).toBe(true);
    process.stdout.write(`erasure figures: ${JSON.stringify(figures(done))}\n`);
    expect(figures(done).stores).toMatchObject({
      app_database: { erased: { users: 1, posts: 1, follows: 3 } },
      // Edges and the profile may go through cdc's deletes first (cascaded from the users row): not counted here then.
      storage: { erased: { activity_rows: 4, media_objects: 2, blobs_deleted: 1, blobs_kept_shared: 1 } },
      kafka: { state: 'STORE_STATE_VERIFIED' },
    });

    // Serving refuses the user; bob's counts lost the edges; bob's copy of the shared content is still there.
    const refused = (await recs.call('Recommend', { userId: people.ada.id, numResults: 5 }).catch((e: ServiceError) => e)) as ServiceError;
    expect(refused.code).toBe(5);
    expect((await storage.call<storageV1.GetFollowCountsResponse>('GetFollowCounts', { userId: people.bob.id })).counts).toMatchObject({
      followers: 1,
      following: 1,
    });
    expect((await scanAll([people.ada.id, people.ada.email])).filter(Boolean)).toEqual([]);
  }, 600_000);

  it('finishes the erasure after a kill -9 of the privacy service in the middle, with the same result', async () => {
    const privacy = client(services.privacy, 'pulse/privacy/v1/privacy_service.proto', 'pulse.privacy.v1.PrivacyService');
    const started = await privacy.call<privacyV1.EraseUserResponse>('EraseUser', {
      userId: people.eve.id,
      basis: privacyV1.ErasureBasis.ERASURE_BASIS_CCPA_DELETION,
    });
    const jobId = started.erasure!.jobId;
    // Killed while some stores are erased and others are not.
    const midway = await eventually(
      () => erasure(jobId),
      (e) =>
        !!e &&
        e.stores.some((s) => s.state === StoreState.STORE_STATE_ERASED) &&
        e.stores.some((s) => s.state === StoreState.STORE_STATE_PENDING),
      60_000,
    );
    await services.privacy.kill('SIGKILL');
    const { rows } = await pg.query(`SELECT state, subject_id FROM ${privacySchema}.erasure_jobs WHERE job_id = $1`, [jobId]);
    expect(rows[0]).toEqual({ state: 'RUNNING', subject_id: people.eve.id });
    expect(midway.state).toBe(ErasureState.ERASURE_STATE_RUNNING);

    services.privacy = await startService('privacy', privacyEnv());
    const done = await eventually(
      () => erasure(jobId),
      (e) => e?.state === ErasureState.ERASURE_STATE_COMPLETED,
      300_000,
    );
    process.stdout.write(`erasure figures after kill -9: ${JSON.stringify(figures(done))}\n`);
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    expect(done.stores.every((s) => s.state === StoreState.STORE_STATE_VERIFIED)).toBe(true);
    expect((await scanAll([people.eve.id, people.eve.email])).filter(Boolean)).toEqual([]);
    expect((await storage.call<storageV1.GetFollowCountsResponse>('GetFollowCounts', { userId: people.bob.id })).counts).toMatchObject({
      followers: 0,
      following: 0,
    });
    const { rows: audit } = await pg.query(`SELECT event FROM ${privacySchema}.erasure_audit WHERE job_id = $1 ORDER BY id`, [jobId]);
    expect(audit.map((a) => a.event)).toEqual(expect.arrayContaining(['requested', 'resumed', 'completed']));
  }, 600_000);

  it('leaves the erased users out when a consumer reads the activity topic again from before the erasure', async () => {
    // A second storage, its own keyspace, reading the shared topic from where this run began: bob's events come
    // back, the erased users' do not (the erasure list).
    const replayKeyspace = `${keyspace}_replay`;
    const group = `erase-replay-${run}`;
    await kafka.admin.setGroupOffsets(group, Topics.activityTracked.name, trackedStart);
    const replay = await startService('storage', {
      KAFKA_BROKERS,
      CASSANDRA_CONTACT_POINTS: CASSANDRA,
      CASSANDRA_KEYSPACE: replayKeyspace,
      STORAGE_AUTO_MIGRATE: 'true',
      STORAGE_CDC_CONSUMER: 'false',
      STORAGE_ACTIVITY_GROUP: group,
      MEDIA_ROOT: join(dir, 'replay-media'),
      MEDIA_SWEEPER: 'false',
    });
    try {
      const replayed = client(replay, 'pulse/storage/v1/storage_service.proto', 'pulse.storage.v1.StorageService');
      const list = (userId: string) =>
        replayed.call<storageV1.ListActivityResponse>('ListActivity', { userId, pageSize: 10 }).then((r) => r.activities.length);
      expect(
        await eventually(
          () => list(people.bob.id),
          (n) => n === 3,
          60_000,
        ),
      ).toBe(3);
      expect(await scanCassandra(replayKeyspace, everything())).toEqual([]);
    } finally {
      await replay.stop();
      await dropAppDatabase(pg, `${schema}_none`, replayKeyspace);
    }
  }, 300_000);
});
