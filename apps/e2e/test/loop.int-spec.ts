import { ingestV1, millisToTimestamp, recsV1, Topics } from '@pulse/contracts';
import { grpcClient, PlatformaticKafkaClient, type UnaryClient } from '@pulse/platform';
import {
  deleteRedisKeys,
  eventually,
  groupsAtEnd,
  issueTestApiKey,
  readTopicUntil,
  runBuilt,
  type ServiceProcess,
  startService,
  type TestApiKey,
} from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as PgClient } from 'pg';
import { CASSANDRA, dropAppDatabase, KAFKA_BROKERS, migrateAppDatabase, PG_URL, startAppDatabase } from './support/app-database';

// The loop, as a client sees it: what a user does through ingest changes their next Recommend within seconds,
// a followed account's new post (written to the app database) becomes a candidate, a hidden post never comes
// back. The built cdc, storage, ingest and recommender run as separate processes on this run's own schema,
// keyspace, Redis prefix and consumer groups; the model is trained on this run's posts with the recs CLI.
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const schema = `loop_${run}`;
const keyspace = `loop_${run}`;
const dir = mkdtempSync(join(tmpdir(), `pulse-loop-${run}-`));
const CLUSTERS = ['cooking', 'football', 'jazz', 'travel'];
const POSTS_PER_CLUSTER = 30;
const { CandidateSource, Strategy } = recsV1;

let pg: PgClient;
let kafka: PlatformaticKafkaClient;
const services: ServiceProcess[] = [];
const keys: TestApiKey[] = [];
let ingest: UnaryClient;
let recs: UnaryClient;
let experiments: UnaryClient;
let recommenderEnv: Record<string, string>;
/** post id → cluster */
const clusterOf = new Map<string, string>();
const authors: string[] = [];
let sequence = 0;

async function track(userId: string, events: { type: ingestV1.ActivityType; target: string; targetType?: ingestV1.TargetType }[]) {
  const now = Date.now();
  const response = await ingest.call<ingestV1.TrackEventsResponse>('TrackEvents', {
    events: events.map((e) => ({
      eventId: `loop-${run}-${sequence++}`,
      userId,
      type: e.type,
      target: { type: e.targetType ?? ingestV1.TargetType.TARGET_TYPE_POST, id: e.target },
      occurredAt: millisToTimestamp(now),
    })),
  });
  expect(response.results.every((r) => r.status === ingestV1.EventStatus.EVENT_STATUS_ACCEPTED)).toBe(true);
}

const recommend = (userId: string, numResults = 10) =>
  recs.call<recsV1.RecommendResponse>('Recommend', { userId, numResults, excludeSeen: true, context: { surface: 'home_feed' } });

beforeAll(async () => {
  pg = new PgClient({ connectionString: PG_URL });
  await pg.connect();
  kafka = new PlatformaticKafkaClient({ brokers: KAFKA_BROKERS.split(','), clientId: `loop-${run}` });

  // The app database: authors, and posts in four topic clusters (tags[0] is the cluster).
  await migrateAppDatabase(schema);
  for (let a = 0; a < 8; a++) {
    const { rows } = await pg.query(
      `INSERT INTO ${schema}.users (handle, display_name, email) VALUES ($1, $1, $1 || '@example.org') RETURNING id`,
      [`author_${a}_${run}`.slice(0, 30)],
    );
    authors.push(String(rows[0].id));
  }
  for (const [c, cluster] of CLUSTERS.entries()) {
    for (let p = 0; p < POSTS_PER_CLUSTER; p++) {
      const { rows } = await pg.query(
        `INSERT INTO ${schema}.posts (author_id, body, tags, created_at) VALUES ($1, $2, $3, now() - interval '2 days') RETURNING id`,
        [authors[(c * 2 + (p % 2)) % authors.length], `about ${cluster} #${p}`, [cluster, `${cluster}-${p % 3}`]],
      );
      clusterOf.set(String(rows[0].id), cluster);
    }
  }

  // A model trained on these posts: 80 past users, each engaging with one cluster.
  const lines = ['userId,movieId,rating,timestamp'];
  const byCluster = CLUSTERS.map((cluster) => [...clusterOf].filter(([, c]) => c === cluster).map(([id]) => id));
  for (let u = 0; u < 80; u++) {
    const posts = byCluster[u % CLUSTERS.length];
    for (let k = 0; k < 12; k++) lines.push(`past-${u},${posts[(u * 7 + k * 5) % posts.length]},1,${1_700_000_000 + u * 100 + k}`);
  }
  writeFileSync(join(dir, 'ratings.csv'), `${lines.join('\n')}\n`);
  const modelsDir = join(dir, 'models');
  await runBuilt('recommender', 'recs.js', {}, [
    'train',
    join(dir, 'ratings.csv'),
    '--model',
    'mf',
    '--models-dir',
    modelsDir,
    '--epochs',
    '30',
    '--lr',
    '0.02',
    '--factors',
    '16',
    '--promote',
  ]);

  // Consumers of the shared activity topic start where it ends now.
  const liveGroup = `loop-live-${run}`;
  await groupsAtEnd(kafka, [liveGroup], [Topics.activityTracked]);

  // The client's key, the recommender's own key for its calls to storage and experiments (what PULSE_API_KEY carries in
  // a deployment), the experiments service's key for the recommender's registry, and an operator's key that runs experiments.
  keys.push(await issueTestApiKey({ label: 'loop', scopes: ['events:write', 'recs:read'], pgUrl: PG_URL }));
  keys.push(
    await issueTestApiKey({ label: 'loop-recommender', scopes: ['storage:read', 'features:read', 'experiments:read'], pgUrl: PG_URL }),
  );
  keys.push(await issueTestApiKey({ label: 'loop-experiments', scopes: ['recs:read'], pgUrl: PG_URL }));
  keys.push(await issueTestApiKey({ label: 'loop-operator', scopes: ['admin'], pgUrl: PG_URL }));
  services.push(await startAppDatabase(schema));
  const storage = await startService('storage', {
    KAFKA_BROKERS,
    CASSANDRA_CONTACT_POINTS: CASSANDRA,
    CASSANDRA_KEYSPACE: keyspace,
    STORAGE_AUTO_MIGRATE: 'true',
    STORAGE_CDC_SCHEMA: schema,
    STORAGE_CDC_GROUP: `loop-cdc-${run}`,
    STORAGE_ACTIVITY_CONSUMER: 'false',
    MEDIA_ROOT: join(dir, 'media'),
    MEDIA_SWEEPER: 'false',
  });
  services.push(storage);
  const ingestService = await startService('ingest', { KAFKA_BROKERS, INGEST_DEDUP_KEY_PREFIX: `loop:${run}:` });
  services.push(ingestService);
  const experimentsService = await startService('experiments', {
    PG_URL,
    EXPERIMENTS_PG_SCHEMA: `${schema}_exp`,
    EXPERIMENTS_AUTO_MIGRATE: 'true',
    LAKE_ROOT: join(dir, 'lake'),
    PULSE_API_KEY: keys[2].key,
  });
  services.push(experimentsService);
  recommenderEnv = {
    KAFKA_BROKERS,
    RECS_MODELS_DIR: modelsDir,
    RECS_REDIS_PREFIX: `pulse:recs:loop:${run}:`,
    RECS_LIVE_GROUP: liveGroup,
    RECS_CATALOG_GROUP: `loop-catalog-${run}`,
    RECS_CDC_SCHEMA: schema,
    STORAGE_GRPC_ADDR: storage.grpcAddress,
    PULSE_API_KEY: keys[1].key,
    // No feature store in this run: ranking goes without engagement features (and says so).
    FEATURES_GRPC_ADDR: '127.0.0.1:9',
    EXPERIMENTS_GRPC_ADDR: experimentsService.grpcAddress,
    RECS_EXPERIMENTS_POLL: '500ms',
  };
  const recommender = await startService('recommender', recommenderEnv);
  services.push(recommender);
  const credentials = keys[0].key;
  ingest = grpcClient(ingestService.grpcAddress, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', { credentials });
  recs = grpcClient(recommender.grpcAddress, 'pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService', { credentials });
  experiments = grpcClient(
    experimentsService.grpcAddress,
    'pulse/experiments/v1/experiments_service.proto',
    'pulse.experiments.v1.ExperimentsService',
    { credentials: keys[3].key },
  );
  // The catalogue has the posts once cdc's snapshot went through.
  await eventually(
    () => recommend(`warmup-${run}`),
    (r) => r.items.some((i) => clusterOf.has(i.itemId)),
    90_000,
  );
}, 300_000);

afterAll(async () => {
  ingest?.close();
  recs?.close();
  experiments?.close();
  for (const s of services.reverse()) await s.stop();
  for (const key of keys) await key.remove();
  await kafka?.close();
  if (pg) {
    await pg.query(`DROP SCHEMA IF EXISTS ${schema}_exp CASCADE`).catch(() => undefined);
    await dropAppDatabase(pg, schema, keyspace);
    await pg.end();
  }
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('the loop', () => {
  it("a new user's likes change their next recommendations within seconds: the liked posts leave, their cluster fills the list", async () => {
    const userId = `fresh-${run}`;
    const before = await recommend(userId);
    expect(before.strategy).toBe(Strategy.STRATEGY_POPULAR_FALLBACK);
    expect(before.fallbackReason).toMatch(/no history/);
    expect(before.items.filter((i) => clusterOf.get(i.itemId) === 'jazz').length).toBeLessThan(6);
    const jazz = [...clusterOf].filter(([, c]) => c === 'jazz').map(([id]) => id);
    const liked = jazz.slice(0, 5);
    const started = Date.now();
    await track(
      userId,
      liked.map((target) => ({ type: ingestV1.ActivityType.ACTIVITY_TYPE_LIKE, target })),
    );
    const after = await eventually(
      () => recommend(userId),
      (r) => r.items.length === 10 && r.items.filter((i) => clusterOf.get(i.itemId) === 'jazz').length >= 6,
      20_000,
    );
    const seconds = (Date.now() - started) / 1000;
    expect(after.items.filter((i) => clusterOf.get(i.itemId) === 'jazz').length).toBeGreaterThanOrEqual(6);
    for (const id of liked) expect(after.items.map((i) => i.itemId)).not.toContain(id);
    expect(after.strategy).toBe(Strategy.STRATEGY_PERSONALIZED);
    expect(seconds).toBeLessThan(15);
  });

  it("a followed account's new post is recommended to the follower, found through the follow graph, and gone once they block the account", async () => {
    const { rows } = await pg.query(
      `INSERT INTO ${schema}.users (handle, display_name, email) VALUES ($1, 'F', $1 || '@example.org') RETURNING id`,
      [`follower_${run}`.slice(0, 30)],
    );
    const follower = String(rows[0].id);
    await pg.query(`INSERT INTO ${schema}.follows (follower_id, followee_id) VALUES ($1, $2)`, [follower, authors[3]]);
    const created = await pg.query(
      `INSERT INTO ${schema}.posts (author_id, body, tags) VALUES ($1, 'fresh off the press', $2) RETURNING id`,
      [authors[3], ['travel', 'travel-news']],
    );
    const postId = String(created.rows[0].id);
    const started = Date.now();
    const found = await eventually(
      () => recommend(follower, 20),
      (r) => r.items.some((i) => i.itemId === postId),
      60_000,
    );
    const item = found.items.find((i) => i.itemId === postId);
    expect(item?.sources).toContain(CandidateSource.CANDIDATE_SOURCE_FOLLOWING);
    expect((Date.now() - started) / 1000).toBeLessThan(60);

    // The follower blocks the author. The follow row is left in place (an app would end it too), so it is the block,
    // through cdc and storage's blocks, that takes the author's posts out of the follower's recommendations.
    await pg.query(`INSERT INTO ${schema}.blocks (blocker_id, blocked_id) VALUES ($1, $2)`, [follower, authors[3]]);
    const blocked = await eventually(
      () => recommend(follower, 20),
      (r) => !r.degraded.some((d) => d.dependency === 'storage') && !r.items.some((i) => i.itemId === postId),
      25_000,
    );
    expect(blocked.degraded.filter((d) => d.dependency === 'storage')).toEqual([]);
    expect(blocked.items.map((i) => i.itemId)).not.toContain(postId);
    expect(blocked.items.length).toBeGreaterThan(0);
  });

  it('a hidden post never comes back, and neither does a post its author deleted', async () => {
    const userId = `hider-${run}`;
    await track(userId, [{ type: ingestV1.ActivityType.ACTIVITY_TYPE_LIKE, target: [...clusterOf.keys()][0] }]);
    const first = await eventually(
      () => recommend(userId),
      (r) => r.strategy === Strategy.STRATEGY_PERSONALIZED && r.items.length > 2,
      20_000,
    );
    const hidden = first.items[0].itemId;
    const deleted = first.items[1].itemId;
    await track(userId, [{ type: ingestV1.ActivityType.ACTIVITY_TYPE_HIDE, target: hidden }]);
    await pg.query(`DELETE FROM ${schema}.posts WHERE id = $1`, [deleted]);
    await eventually(
      () => recommend(userId, 50),
      (r) => !r.items.some((i) => i.itemId === hidden || i.itemId === deleted),
      30_000,
    );
    for (let n = 0; n < 5; n++) {
      const again = await recs.call<recsV1.RecommendResponse>('Recommend', { userId, numResults: 100, excludeSeen: n % 2 === 0 });
      expect(again.items.map((i) => i.itemId)).not.toContain(hidden);
      expect(again.items.map((i) => i.itemId)).not.toContain(deleted);
    }
  });

  it('a running experiment splits users between its variants, serves each its own, and tags every list it serves', async () => {
    const { experiment } = await experiments.call('CreateExperiment', {
      experiment: {
        name: 'popular vs promoted',
        layer: `loop-${run}`,
        trafficPercent: 100,
        variants: [
          { name: 'control', weight: 50, control: true, strategy: 1 /* PROMOTED */ },
          { name: 'popular', weight: 50, strategy: 2 /* POPULAR */ },
        ],
        primaryMetric: 1 /* CTR */,
      },
    });
    await experiments.call('StartExperiment', { id: experiment.id });
    const users = Array.from({ length: 40 }, (_, n) => `exp-${run}-${n}`);
    const since = await kafka.admin.endOffsets(Topics.recsServed.name);
    // The recommender reads the running experiments every half second.
    // Until then cold users may get the popularity list too, for want of history: wait until the experiment's own
    // popularity variant shows up (about half of the 40 users are in it).
    await eventually(
      () => Promise.all(users.map((u) => recommend(u))),
      (all) => all.some((r) => r.fallbackReason.includes(experiment.id)),
      15_000,
    );
    const lists = new Map<string, recsV1.RecommendResponse>();
    for (const userId of users) lists.set(userId, await recommend(userId));
    const popular = users.filter((u) => lists.get(u)!.fallbackReason.includes('popularity list'));
    expect(popular.length).toBeGreaterThan(5);
    expect(popular.length).toBeLessThan(35);
    // Sticky: the same users get the same variant again.
    for (const userId of users.slice(0, 10)) {
      expect((await recommend(userId)).fallbackReason.includes('popularity list')).toBe(popular.includes(userId));
    }
    const tagged = await readTopicUntil(kafka, Topics.recsServed, {
      since,
      filter: (r) => r.value?.experimentId === experiment.id,
      done: (kept) => new Set(kept.map((r) => r.value!.userId)).size >= users.length,
      timeoutMs: 30_000,
    });
    expect(new Set(tagged.map((r) => r.value!.userId)).size).toBe(users.length);
    for (const r of tagged) expect(r.value!.variant).toBe(popular.includes(r.value!.userId) ? 'popular' : 'control');
    await experiments.call('StopExperiment', { id: experiment.id, reason: 'loop test over' });
  });

  it('after Redis lost the post catalogue, a restarted recommender fills it again from the start of the posts topic', async () => {
    const { rows } = await pg.query(
      `INSERT INTO ${schema}.users (handle, display_name, email) VALUES ($1, 'R', $1 || '@example.org') RETURNING id`,
      [`reader_${run}`.slice(0, 30)],
    );
    const follower = String(rows[0].id);
    await pg.query(`INSERT INTO ${schema}.follows (follower_id, followee_id) VALUES ($1, $2)`, [follower, authors[5]]);
    const created = await pg.query(
      `INSERT INTO ${schema}.posts (author_id, body, tags) VALUES ($1, 'before the outage', $2) RETURNING id`,
      [authors[5], ['cooking']],
    );
    const postId = String(created.rows[0].id);
    const hasPost = (r: recsV1.RecommendResponse) =>
      r.items.some((i) => i.itemId === postId && i.sources.includes(CandidateSource.CANDIDATE_SOURCE_FOLLOWING));
    await eventually(() => recommend(follower, 20), hasPost, 60_000);

    // Redis comes back empty (a restart without persistence); the catalogue group's offsets in Kafka are past the post.
    const recommender = services.find((s) => s.name === 'recommender')!;
    await recommender.stop();
    services.splice(services.indexOf(recommender), 1);
    await deleteRedisKeys(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:26379', recommenderEnv['RECS_REDIS_PREFIX']);
    const restarted = await startService('recommender', recommenderEnv);
    services.push(restarted);
    recs.close();
    recs = grpcClient(restarted.grpcAddress, 'pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService', { credentials: keys[0].key });
    await eventually(() => recommend(follower, 20), hasPost, 60_000);
  });
});
