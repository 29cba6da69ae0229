// Freshness of the loop, on a running platform (`./pulse up`): how long until what happens on Pulse shows in
// Recommend. Two probe kinds:
//   actions   a brand-new user likes BENCH_LIKES posts of one topic cluster through ingest's TrackEvents; the
//             probe ends when Recommend (top 10, exclude_seen) no longer has the liked posts and a majority of
//             its items are from that cluster.
//   new post  a new user follows an existing author (a row in follows, as the app would write it); once storage
//             has the edge, the author publishes a post (a row in posts); the probe ends when the post is in the
//             follower's Recommend (top 50).
// Times: actions from the moment TrackEvents is called, new posts from the INSERT's commit, to the first Recommend
// that reflects them (polled every BENCH_POLL_MS). The anchor, measured on the same events from the same moment:
// until the last event is read back from pulse.activity.tracked.v1 by a consumer (ingest and the transport's own
// floor, which every path from an action to a recommendation includes).
// Prints one JSON line. Run by Node 24 with type stripping: erasable TypeScript only, npm packages only.
import grpc from '@grpc/grpc-js';
import { Consumer, stringSerializers } from '@platformatic/kafka';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { envInt, KAFKA_BROKERS, note, percentile, REPO, round, RUN_ID, sleep } from '../lib/bench.ts';
import { loadProto } from '../lib/proto.ts';

const ACTION_PROBES = envInt('BENCH_ACTION_PROBES', 20);
const POST_PROBES = envInt('BENCH_POST_PROBES', 10);
const LIKES = envInt('BENCH_LIKES', 5);
const POLL_MS = envInt('BENCH_POLL_MS', 25);
const TIMEOUT_MS = envInt('BENCH_TIMEOUT_MS', 120_000);
const PG_URL = process.env['PG_URL'] ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse';
const SCHEMA = process.env['BENCH_APP_SCHEMA'] ?? 'public';
const INGEST = process.env['INGEST_GRPC_ADDR'] ?? '127.0.0.1:50051';
const RECS = process.env['RECS_GRPC_ADDR'] ?? '127.0.0.1:50056';
const STORAGE = process.env['STORAGE_GRPC_ADDR'] ?? '127.0.0.1:50053';
// The caller's API key: PULSE_API_KEY, else the local admin key `./pulse up` wrote (events:write and recs:read suffice).
const LOCAL_KEY = join(REPO, 'tmp/pulse-admin.key');
const API_KEY = process.env['PULSE_API_KEY'] || (existsSync(LOCAL_KEY) ? readFileSync(LOCAL_KEY, 'utf8').trim() : '');

type Json = Record<string, any>;

function client(relative: string, service: string, address: string): grpc.Client {
  const pkg = grpc.loadPackageDefinition(loadProto(relative)) as Json;
  const Ctor = service.split('.').reduce((node: Json, part) => node[part], pkg) as typeof grpc.Client;
  return new Ctor(address, grpc.credentials.createInsecure());
}

function credentials(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (API_KEY) metadata.set('authorization', `Bearer ${API_KEY}`);
  return metadata;
}

function call<T = Json>(c: grpc.Client, method: string, request: unknown, deadlineMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) =>
    (c as Json)[method](request, credentials(), { deadline: Date.now() + deadlineMs }, (e: Error | null, r: T) =>
      e ? reject(e) : resolve(r),
    ),
  );
}

function summary(ms: number[], failures: number): Json {
  const s = [...ms].sort((a, b) => a - b);
  return {
    probes: ms.length + failures,
    failures,
    p50_ms: round(percentile(s, 50)),
    p95_ms: round(percentile(s, 95)),
    max_ms: round(s[s.length - 1] ?? NaN),
  };
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<number | undefined> {
  const started = performance.now();
  while (performance.now() - started < TIMEOUT_MS) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && ok(value)) return performance.now();
    await sleep(POLL_MS);
  }
  return undefined;
}

async function main(): Promise<void> {
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  const { rows } = await db.query<{ id: string; cluster: string; author: string }>(
    `SELECT id::text, tags[1] AS cluster, author_id::text AS author FROM ${SCHEMA}.posts WHERE tags[1] IS NOT NULL ORDER BY id DESC LIMIT 20000`,
  );
  const byCluster = new Map<string, string[]>();
  for (const r of rows) byCluster.set(r.cluster, [...(byCluster.get(r.cluster) ?? []), r.id]);
  const clusters = [...byCluster.keys()].filter((c) => (byCluster.get(c)?.length ?? 0) >= LIKES * 3);
  if (clusters.length < 2) throw new Error(`${SCHEMA}.posts has no topic clusters to probe (run ./pulse up: the simulator seeds them)`);
  const clusterOf = new Map(rows.map((r) => [r.id, r.cluster]));
  const authors = [...new Set(rows.map((r) => r.author))];
  note(`${rows.length} posts in ${clusters.length} clusters, ${authors.length} authors`);

  const ingest = client('pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', INGEST);
  const recs = client('pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService', RECS);
  const storage = client('pulse/storage/v1/storage_service.proto', 'pulse.storage.v1.StorageService', STORAGE);

  // The anchor: our events read back from the tracked topic.
  const seenAt = new Map<string, number>();
  const consumer = new Consumer({
    clientId: `bench-freshness-${RUN_ID}`,
    groupId: `bench-freshness-${RUN_ID}`,
    bootstrapBrokers: KAFKA_BROKERS.split(','),
    deserializers: { ...stringSerializers, value: (v?: Buffer) => v },
    maxWaitTime: 50,
  } as any);
  const stream = await consumer.consume({ topics: ['pulse.activity.tracked.v1'], mode: 'latest' } as any);
  stream.on('data', (message: { value?: Buffer }) => {
    // The event id is a string field of the protobuf value: found in its bytes without decoding.
    const match = /fresh-r[0-9a-f]+-\d+-\d+/.exec(message.value?.toString('latin1') ?? '');
    if (match && !seenAt.has(match[0])) seenAt.set(match[0], performance.now());
  });
  await sleep(3_000); // the consumer has joined before the first probe

  const actionMs: number[] = [];
  const anchorMs: number[] = [];
  let actionFailures = 0;
  for (let p = 0; p < ACTION_PROBES; p++) {
    const cluster = clusters[p % clusters.length];
    const pool = byCluster.get(cluster) as string[];
    const liked = Array.from({ length: LIKES }, (_, k) => pool[(p * 7 + k * 3) % pool.length]);
    const userId = `fresh-${RUN_ID}-${p}`;
    const now = Date.now();
    const events = liked.map((target, k) => ({
      eventId: `fresh-${RUN_ID}-${p}-${k}`,
      userId,
      type: 4, // ACTIVITY_TYPE_LIKE
      target: { type: 1, id: target },
      occurredAt: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 },
      properties: { surface: 'bench' },
    }));
    const sent = performance.now();
    await call(ingest, 'TrackEvents', { events });
    const done = await until(
      () => call<Json>(recs, 'Recommend', { userId, numResults: 10, excludeSeen: true }),
      (r) => {
        const ids: string[] = r.items.map((i: Json) => i.itemId);
        return (
          !ids.some((id) => liked.includes(id)) &&
          ids.filter((id) => clusterOf.get(id) === cluster).length > ids.length / 2 &&
          ids.length >= 5
        );
      },
    );
    if (done === undefined) actionFailures++;
    else actionMs.push(done - sent);
    const anchor = seenAt.get(`fresh-${RUN_ID}-${p}-${LIKES - 1}`);
    if (anchor !== undefined) anchorMs.push(Math.max(0, anchor - sent));
    note(`action probe ${p + 1}/${ACTION_PROBES} (${cluster}): ${done === undefined ? 'timed out' : `${round(done - sent)} ms`}`);
  }

  const postMs: number[] = [];
  let postFailures = 0;
  for (let p = 0; p < POST_PROBES; p++) {
    const author = authors[(p * 13) % authors.length];
    const handle = `fresh_${RUN_ID}_${p}`.slice(0, 30);
    const { rows: created } = await db.query<{ id: string }>(
      `INSERT INTO ${SCHEMA}.users (handle, display_name, email) VALUES ($1, $1, $1 || '@bench.pulse.example') RETURNING id::text`,
      [handle],
    );
    const follower = created[0].id;
    await db.query(`INSERT INTO ${SCHEMA}.follows (follower_id, followee_id) VALUES ($1, $2)`, [follower, author]);
    const edge = await until(
      () => call<Json>(storage, 'ListFollowing', { userId: follower, pageSize: 10 }),
      (r) => r.follows.some((f: Json) => f.followeeId === author),
    );
    if (edge === undefined) throw new Error(`storage never saw ${follower} follow ${author}: is cdc running?`);
    const cluster = clusters[p % clusters.length];
    const { rows: post } = await db.query<{ id: string }>(
      `INSERT INTO ${SCHEMA}.posts (author_id, body, tags) VALUES ($1, $2, $3) RETURNING id::text`,
      [author, `fresh post ${p} of the freshness bench`, [cluster, `${cluster}-news`]],
    );
    const committed = performance.now();
    const done = await until(
      () => call<Json>(recs, 'Recommend', { userId: follower, numResults: 50, excludeSeen: true }),
      (r) => r.items.some((i: Json) => i.itemId === post[0].id),
    );
    if (done === undefined) postFailures++;
    else postMs.push(done - committed);
    note(`new-post probe ${p + 1}/${POST_PROBES}: ${done === undefined ? 'timed out' : `${round(done - committed)} ms`}`);
    await db.query(`DELETE FROM ${SCHEMA}.posts WHERE id = $1`, [post[0].id]);
    await db.query(`DELETE FROM ${SCHEMA}.users WHERE id = $1`, [follower]);
  }

  await stream.close();
  await consumer.close(true);
  await db.end();
  for (const c of [ingest, recs, storage]) c.close();
  const actions = summary(actionMs, actionFailures);
  const posts = summary(postMs, postFailures);
  const anchor = summary(anchorMs, 0);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'freshness',
      actions,
      new_posts: posts,
      anchor_kafka_ms: { p50_ms: anchor.p50_ms, p95_ms: anchor.p95_ms, probes: anchorMs.length },
      ratio_actions_p50_to_anchor: round(actions.p50_ms / anchor.p50_ms, 2),
      goals: { actions_p95_ms: 5_000, new_posts_p95_ms: 60_000 },
      goal_met: actionFailures === 0 && postFailures === 0 && actions.p95_ms < 5_000 && posts.p95_ms < 60_000,
      poll_ms: POLL_MS,
    })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
