import { status } from '@grpc/grpc-js';
import { ingestV1, recsV1, simulatorV1, Topics } from '@pulse/contracts';
import { type IncomingRecord, PlatformaticKafkaClient } from '@pulse/platform';
import { eventually, fuzzProblems, fuzzWithTestKey, readTopicUntil, type ServiceProcess, startService } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { TOPIC_CLUSTERS } from '../src/world/topic-clusters';
import { createTestSchemas, dropTestSchemas, PG_URL, startSimulator, type TestSchemas, type TestSimulator } from './simulator-fixture';
import { startStubServer, type StubServer } from './stub-grpc.server';

const { ActivityType } = ingestV1;

// The simulator against the real ingest (built, on free ports) and a stub recommender, writing a world of its own
// into a copy of the app schema; its events are read back from the shared pulse.activity.tracked.v1 by user id.
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const USERS = 60;
const POSTS = 300;

let pg: Pool;
let kafka: PlatformaticKafkaClient;
let ingest: ServiceProcess;
let recs: StubServer;
let schemas: TestSchemas;
let sim: TestSimulator;
let trackedSince: bigint[];
/** Lists the stub recommender served, by recommendation id. */
const served = new Map<string, string[]>();

/** Users with an even id get an empty list (no model yet): their sessions browse PostgreSQL instead. */
async function recommend(request: recsV1.RecommendRequest): Promise<recsV1.RecommendResponse> {
  const recommendationId = randomUUID();
  if (Number(request.userId) % 2 === 0) {
    return {
      items: [],
      recommendationId,
      modelVersion: '',
      strategy: recsV1.Strategy.STRATEGY_POPULAR_FALLBACK,
      degraded: [],
      fallbackReason: 'no model is promoted yet',
    };
  }
  const { rows } = await pg.query<{ id: string }>(`SELECT id::text FROM ${schemas.app}.posts ORDER BY random() LIMIT $1`, [
    request.numResults,
  ]);
  served.set(
    recommendationId,
    rows.map((r) => r.id),
  );
  return {
    items: rows.map((r, i) => ({
      itemId: r.id,
      score: 1 - i / 100,
      rank: i + 1,
      sources: [recsV1.CandidateSource.CANDIDATE_SOURCE_MODEL],
    })),
    recommendationId,
    modelVersion: 'stub-1',
    strategy: recsV1.Strategy.STRATEGY_PERSONALIZED,
    degraded: [],
    fallbackReason: '',
  };
}

const start = () =>
  startSimulator(schemas, {
    INGEST_GRPC_ADDR: ingest.grpcAddress,
    RECS_GRPC_ADDR: recs.address,
    SIMULATOR_SEED: '7',
    SIMULATOR_USERS: String(USERS),
    SIMULATOR_POSTS: String(POSTS),
    SIMULATOR_RATE: '300',
    SIMULATOR_FLUSH_INTERVAL: '200ms',
  });

const getStatus = () => sim.status();
const sentOf = (s: simulatorV1.GetStatusResponse, type: ingestV1.ActivityType) => s.eventsSent.find((e) => e.type === type)?.count ?? 0;

beforeAll(async () => {
  pg = new Pool({ connectionString: PG_URL, max: 4 });
  schemas = await createTestSchemas('simint');
  ingest = await startService('ingest', { INGEST_DEDUP_KEY_PREFIX: `test:simulator:${run}:` });
  recs = await startStubServer('pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService', { Recommend: recommend });
  kafka = new PlatformaticKafkaClient({ brokers: ['127.0.0.1:29092'], clientId: `simulator-test-${run}` });
  trackedSince = await kafka.admin.endOffsets(Topics.activityTracked.name);
  sim = await start();
}, 120_000);

afterAll(async () => {
  await sim?.close();
  await recs?.close();
  await ingest?.stop();
  await kafka?.close();
  await pg?.end();
  await dropTestSchemas(schemas);
});

describe('simulator', () => {
  it('seeds the world into the app schema once, with its marker in its own schema', async () => {
    const status = await eventually(getStatus, (s) => s.users === USERS);
    expect(status).toMatchObject({ seed: 7, run: 1, users: USERS });
    const users = await pg.query<{ email: string }>(`SELECT email FROM ${schemas.app}.users ORDER BY id`);
    expect(users.rows).toHaveLength(USERS);
    expect(users.rows[42].email).toBe('user42@sim.pulse.example');
    const posts = await pg.query<{ tags: string[]; body: string }>(`SELECT tags, body FROM ${schemas.app}.posts`);
    expect(posts.rows.length).toBeGreaterThanOrEqual(POSTS);
    const clusters = new Map(TOPIC_CLUSTERS.map((c) => [c.name, c]));
    for (const p of posts.rows) {
      const cluster = clusters.get(p.tags[0]);
      expect(cluster).toBeDefined();
      for (const tag of p.tags.slice(1)) expect(cluster!.subtopics).toContain(tag);
    }
    const counts = await pg.query<{ follows: string; comments: string }>(
      `SELECT (SELECT count(*) FROM ${schemas.app}.follows) AS follows, (SELECT count(*) FROM ${schemas.app}.comments) AS comments`,
    );
    expect(Number(counts.rows[0].follows)).toBeGreaterThan(USERS);
    expect(Number(counts.rows[0].comments)).toBeGreaterThan(0);
    // No follow between users who blocked one another (a block ends the follows both ways, a later follow is refused).
    const followsDespiteBlocks = await pg.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${schemas.app}.follows f JOIN ${schemas.app}.blocks b
          ON (f.follower_id = b.blocker_id AND f.followee_id = b.blocked_id) OR (f.follower_id = b.blocked_id AND f.followee_id = b.blocker_id)`,
    );
    expect(followsDespiteBlocks.rows[0].n).toBe('0');
    const marker = await pg.query(`SELECT seed, users, posts, runs FROM ${schemas.own}.worlds WHERE app_schema = $1`, [schemas.app]);
    expect(marker.rows).toEqual([{ seed: '7', users: USERS, posts: POSTS, runs: 1 }]);
    const publicRows = await pg.query(`SELECT count(*) AS n FROM ${schemas.own}.agents WHERE app_schema = 'public'`);
    expect(publicRows.rows[0].n).toBe('0');
  });

  it('sends impressions carrying the recommendation id, position and surface, and engagement attributed to the list', async () => {
    const { rows } = await pg.query<{ id: string }>(`SELECT id::text FROM ${schemas.app}.users`);
    const ids = new Set(rows.map((r) => r.id));
    const records = await readTopicUntil(kafka, Topics.activityTracked, {
      since: trackedSince,
      filter: (r) => ids.has(r.key ?? ''),
      done: (kept) =>
        kept.some((r) => r.value!.event!.type === ActivityType.ACTIVITY_TYPE_CLICK && r.value!.event!.recommendationId) &&
        kept.some((r) => r.value!.event!.type === ActivityType.ACTIVITY_TYPE_IMPRESSION && !r.value!.event!.recommendationId),
      timeoutMs: 45_000,
    });
    const events = records.map((r: IncomingRecord<string, ingestV1.ActivityTracked>) => r.value!.event!);
    const impressions = events.filter((e) => e.type === ActivityType.ACTIVITY_TYPE_IMPRESSION);
    const recommended = impressions.filter((e) => e.recommendationId);
    expect(recommended.length).toBeGreaterThan(0);
    for (const e of recommended) {
      expect(served.get(e.recommendationId)).toContain(e.target!.id);
      expect(e.properties).toMatchObject({ surface: 'home_feed' });
      expect(served.get(e.recommendationId)![Number(e.properties['position']) - 1]).toBe(e.target!.id);
      expect(Number(e.userId) % 2).toBe(1);
    }
    // Users without recommendations browse followed users' and popular posts: no recommendation id.
    const browsed = impressions.filter((e) => !e.recommendationId);
    expect(browsed.length).toBeGreaterThan(0);
    for (const e of browsed) {
      expect(['following', 'popular']).toContain(e.properties['surface']);
      expect(Number(e.userId) % 2).toBe(0);
    }
    const clicks = events.filter((e) => e.type === ActivityType.ACTIVITY_TYPE_CLICK && e.recommendationId);
    for (const e of clicks) expect(served.get(e.recommendationId)).toContain(e.target!.id);
    const views = events.filter((e) => e.type === ActivityType.ACTIVITY_TYPE_VIEW);
    expect(views.length).toBeGreaterThan(0);
    for (const e of views) expect(Number(e.properties['dwell_ms'])).toBeGreaterThan(0);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
  });

  it('reports what it sent in GetStatus and on /metrics, and writes the rows of what users did', async () => {
    const status = await eventually(
      getStatus,
      (s) => sentOf(s, ActivityType.ACTIVITY_TYPE_LIKE) > 0 && sentOf(s, ActivityType.ACTIVITY_TYPE_IMPRESSION) > 200,
      45_000,
    );
    expect(status.running).toBe(true);
    expect(status.rate).toBe(300);
    expect(status.sessions).toBeGreaterThan(0);
    expect(status.eventsSentTotal).toBe(status.eventsSent.reduce((s, e) => s + e.count, 0));
    expect(status.recommendations.find((r) => r.strategy === 'STRATEGY_PERSONALIZED')?.count).toBeGreaterThan(0);
    expect(Number(status.startedAt?.seconds)).toBeGreaterThan(0);
    const metrics = await (await fetch(`${sim.app.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/simulator_events_sent_total\{type="IMPRESSION",service="simulator"\} \d+/);
    expect(metrics).toMatch(/simulator_sessions_total\{source="recommendations",service="simulator"\} \d+/);
    expect(metrics).toMatch(/simulator_rate_target_events_per_second\{service="simulator"\} 300/);
    const liked = await pg.query(`SELECT count(*) AS n FROM ${schemas.app}.posts WHERE like_count > 0`);
    expect(Number(liked.rows[0].n)).toBeGreaterThan(0);
  });

  it('pauses at rate 0, resumes on SetRate and refuses a negative rate', async () => {
    await expect(sim.client.call('SetRate', { eventsPerSecond: -1 })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(await sim.client.call('SetRate', { eventsPerSecond: 0 })).toEqual({ previousEventsPerSecond: 300, eventsPerSecond: 0 });
    const paused = await eventually(getStatus, (s) => s.state === simulatorV1.SimulatorState.SIMULATOR_STATE_PAUSED && !s.running);
    await new Promise((r) => setTimeout(r, 1_500));
    const later = await getStatus();
    // At most what was in flight when it paused.
    expect(later.eventsSentTotal - paused.eventsSentTotal).toBeLessThan(300);
    await sim.client.call('SetRate', { eventsPerSecond: 100 });
    const resumed = await eventually(getStatus, (s) => s.eventsSentTotal > later.eventsSentTotal + 50);
    expect(resumed.running).toBe(true);
  });

  it('answers generated and malformed requests to every RPC with client errors, never INTERNAL or UNKNOWN, and stays up (tools/fuzz, short)', async () => {
    expect(
      fuzzProblems(
        await fuzzWithTestKey({
          address: sim.app.grpcAddress,
          protoFile: 'pulse/simulator/v1/simulator_service.proto',
          service: 'pulse.simulator.v1.SimulatorService',
          pgUrl: PG_URL,
        }),
      ),
    ).toEqual([]);
  }, 900_000);

  it('stops cleanly and, started again, loads the same world instead of seeding another', async () => {
    await sim.close();
    sim = await start();
    const status = await eventually(getStatus, (s) => s.run === 2 && s.eventsSentTotal > 0);
    expect(status).toMatchObject({ seed: 7, users: USERS });
    const users = await pg.query(`SELECT count(*) AS n FROM ${schemas.app}.users`);
    expect(Number(users.rows[0].n)).toBe(USERS);
  });
});
