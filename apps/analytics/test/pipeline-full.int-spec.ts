import { analyticsV1 } from '@pulse/contracts';
import { DeltaTable, defaultLakeEngine, LocalLakeStorage } from '@pulse/lake';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { JOBS } from '../src/jobs/job-catalog';
import { AnalyticsWorld, FakeFeatureStore, requireSpark } from './analytics-test-env';
import { buildWorld, type World, writeBronze } from './fixtures/bronze-lake';
import { expectPymkLists } from './pymk-checks';
import * as reference from './reference/duckdb-reference';

// The whole pipeline once, on one small world (4 planted communities of 10 users, 10 days): every job in
// order through RunJob on the stack's Spark, then each output checked against the world itself, DuckDB SQL
// over the same bronze tables, and NetworkX on the same graph. One Spark server, one session per run.
const repo = join(__dirname, '../../..');
const world: World = buildWorld({ seed: 7, followAcross: 0.01 });
const env = new AnalyticsWorld();
const features = new FakeFeatureStore();
const runs = new Map<string, any>();
// The service's own credentials, sent on its pushes to the feature store.
const ANALYTICS_KEY = 'pk_analytics_pipeline_test';
let bronze: reference.BronzeSql;

async function duck(sql: string): Promise<Record<string, any>[]> {
  return (await defaultLakeEngine()).query(sql);
}

beforeAll(async () => {
  await requireSpark();
  await writeBronze(env.lakeRoot, world);
  const storage = new LocalLakeStorage(env.lakeRoot);
  const scan = async (path: string) => (await DeltaTable.open(storage, path)).scanSql();
  bronze = {
    activity: await scan('bronze/activity'),
    posts: await scan('bronze/cdc/public.posts'),
    follows: await scan('bronze/cdc/public.follows'),
    users: await scan('bronze/cdc/public.users'),
  };
  await features.start();
  await env.start({ FEATURES_GRPC_ADDR: features.address, ANALYTICS_PUSH_BATCH: '16', PULSE_API_KEY: ANALYTICS_KEY });
  for (const job of JOBS) {
    const run = await env.runJob(job.name);
    runs.set(job.name, run);
    if (run.state !== analyticsV1.RunState.RUN_STATE_SUCCEEDED) throw new Error(`${job.name} failed: ${JSON.stringify(run.failure)}`);
  }
}, 45 * 60_000);

afterAll(async () => {
  await env.close();
  await features.stop();
});

const num = (v: unknown) => Number(v);

describe('a run', () => {
  it('records the versions it read and the version it wrote, in the run and in the Delta commit', async () => {
    const run = runs.get('silver_activity');
    expect(run.inputs).toEqual([{ path: 'bronze/activity', version: 2 }]);
    expect(run.outputs).toEqual([{ path: 'silver/activity', version: 0 }]);
    expect(run.outputRows).toBe(world.activity.length - world.redelivered);
    const commit = await env.latestCommit('silver/activity');
    expect(commit.version).toBe(0);
    expect(commit.operation).toBe('WRITE');
    expect(JSON.parse(String(commit.info['userMetadata']))).toEqual({
      pulse_run_id: run.runId,
      job: 'silver_activity',
      parameters: {},
      reads: { 'bronze/activity': 2 },
    });
    const pymk = runs.get('pymk');
    expect(pymk.inputs.map((i: any) => i.path)).toEqual(['silver/follows', 'gold/communities', 'silver/activity', 'silver/blocks']);
    expect(pymk.parameters).toEqual({ max_candidates: '20', circle_size: '100', fanout: '200', activity_days: '28' });
  });

  it("shows in ListJobs as the job's latest run, with the job's schedule and output", async () => {
    const { jobs } = await env.api.call('ListJobs', {});
    expect(jobs.map((j: any) => j.name)).toEqual(JOBS.map((j) => j.name));
    const pagerank = jobs.find((j: any) => j.name === 'pagerank');
    expect(pagerank).toMatchObject({
      layer: analyticsV1.Layer.LAYER_GOLD,
      inputs: ['silver/follows'],
      output: { path: 'gold/pagerank', partitionColumns: [] },
      schedule: '0 3 * * *',
      lastRun: { runId: runs.get('pagerank').runId, state: analyticsV1.RunState.RUN_STATE_SUCCEEDED },
    });
    expect(pagerank.nextRunAt).toBeNull(); // schedules are off in this world
    expect(jobs.find((j: any) => j.name === 'pymk').exportsTo).toBe('feature-store:user_pymk');
    const { runs: history } = await env.api.call('ListJobRuns', { job: 'pagerank' });
    expect(history.map((r: any) => r.runId)).toEqual([runs.get('pagerank').runId]);
  });
});

describe('silver', () => {
  it('keeps each event once, the first delivery', async () => {
    const [ref] = await duck(reference.dedupedActivity(bronze));
    const rows = await env.rows('silver/activity', 'event_id', 'event_id, epoch_ms(received_at) AS received_ms');
    expect(rows.length).toBe(num(ref['events']));
    expect(new Set(rows.map((r) => r['event_id'])).size).toBe(rows.length);
    const firstDelivery = new Map<string, number>();
    for (const e of world.activity) if (!firstDelivery.has(e.event_id)) firstDelivery.set(e.event_id, e.received_at);
    expect(rows.filter((r) => num(r['received_ms']) !== firstDelivery.get(r['event_id']))).toEqual([]);
  });

  it('replays the CDC tables to their latest state: unfollows, re-follows, mutes, retags, deletes, renames', async () => {
    const follows = await env.rows('silver/follows', 'follower_id, followee_id');
    const key = (a: unknown, b: unknown) => `${a}>${b}`;
    expect(follows.map((f) => key(f['follower_id'], f['followee_id'])).sort()).toEqual(
      world.follows.map((f) => key(f.follower, f.followee)).sort(),
    );
    const edges = new Set(world.follows.map((f) => key(f.follower, f.followee)));
    expect(follows.every((f) => f['mutual'] === edges.has(key(f['followee_id'], f['follower_id'])))).toBe(true);
    const muted = world.follows.filter((f) => f.muted).map((f) => key(f.follower, f.followee));
    expect(follows.filter((f) => f['muted']).map((f) => key(f['follower_id'], f['followee_id']))).toEqual(muted);

    const posts = await env.rows('silver/posts', 'post_id');
    const live = world.posts.filter((p) => !p.deleted);
    expect(posts.map((p) => p['post_id'])).toEqual(live.map((p) => String(p.id)).sort());
    const byId = new Map(posts.map((p) => [p['post_id'], p]));
    for (const p of live) expect(byId.get(String(p.id))?.['topic'] ?? null).toBe(p.tags[0] ?? null);

    const users = await env.rows('silver/users', 'user_id');
    expect(users.map((u) => u['handle'])).toEqual(world.users.map((u) => u.handle));
  });

  it('cuts activity into sessions at gaps of 30 minutes, as DuckDB does', async () => {
    const [ref] = await duck(reference.sessions(bronze, 30));
    const sessions = await env.rows('silver/activity_sessions', 'user_id, session_start');
    expect(sessions.length).toBe(num(ref['sessions']));
    expect(sessions.reduce((n, s) => n + num(s['events']), 0)).toBe(num(ref['events']));
  });
});

describe('insights, against DuckDB SQL over the same lake', () => {
  it('counts daily, weekly and monthly active users', async () => {
    const spark = await env.rows('gold/active_users', 'activity_date');
    const duckdb = await duck(reference.activeUsers(bronze));
    expect(spark.map((r) => [r['activity_date'], num(r['dau']), num(r['wau']), num(r['mau'])])).toEqual(
      duckdb.map((r) => [r['activity_date'], num(r['dau']), num(r['wau']), num(r['mau'])]),
    );
    expect(spark).toHaveLength(10);
  });

  it('builds weekly retention cohorts', async () => {
    const spark = await env.rows('gold/retention_cohorts', 'cohort_week, week_offset');
    const duckdb = await duck(reference.retention(bronze));
    expect(spark.map((r) => [r['cohort_week'], num(r['week_offset']), num(r['active_users'])])).toEqual(
      duckdb.map((r) => [r['cohort_week'], num(r['week_offset']), num(r['active_users'])]),
    );
    spark.forEach((r, i) => expect(num(r['retention'])).toBeCloseTo(num(duckdb[i]['retention']), 12));
  });

  it('sums engagement per day and topic', async () => {
    const spark = await env.rows('gold/topic_engagement', 'event_date, topic');
    const duckdb = await duck(reference.topicEngagement(bronze));
    const pick = (r: Record<string, any>) => [
      r['event_date'],
      r['topic'],
      num(r['impressions']),
      num(r['clicks']),
      num(r['likes']),
      num(r['users']),
    ];
    expect(spark.map(pick)).toEqual(duckdb.map(pick));
    expect(new Set(spark.map((r) => r['topic']))).toEqual(new Set(['sports', 'music', 'tech', 'food', '(none)', '(unknown)']));
  });

  it('computes creator stats', async () => {
    const spark = await env.rows('gold/creator_stats', 'creator_id');
    const duckdb = await duck(reference.creatorStats(bronze));
    const pick = (r: Record<string, any>) => [
      r['creator_id'],
      r['handle'],
      num(r['posts']),
      num(r['followers']),
      num(r['impressions']),
      num(r['likes']),
      num(r['engaged_users']),
    ];
    expect(spark.map(pick)).toEqual(duckdb.map(pick));
  });

  it('follows the impression → click → like funnel', async () => {
    const spark = await env.rows('gold/engagement_funnel', 'event_date, surface');
    const duckdb = await duck(reference.funnel(bronze));
    const pick = (r: Record<string, any>) => [r['event_date'], r['surface'], num(r['impressed']), num(r['clicked']), num(r['liked'])];
    expect(spark.map(pick)).toEqual(duckdb.map(pick));
    expect(spark.every((r) => num(r['impressed']) >= num(r['clicked']) && num(r['clicked']) >= num(r['liked']))).toBe(true);
  });
});

describe('graph, against NetworkX on the same graph', () => {
  let nx: { pagerank: Record<string, number>; communities: string[][]; modularity: number; partition_modularity: number };

  beforeAll(async () => {
    const communities = await env.rows('gold/communities', 'user_id');
    const python = execFileSync(join(repo, 'tools/analytics/python-env.sh'), { encoding: 'utf8' }).trim();
    const request = {
      edges: world.follows.map((f) => [f.follower, f.followee]),
      partition: Object.fromEntries(communities.map((c) => [c['user_id'], c['community_id']])),
    };
    nx = JSON.parse(
      execFileSync(python, [join(repo, 'tools/analytics/graph_reference.py')], { input: JSON.stringify(request), encoding: 'utf8' }),
    );
  }, 10 * 60_000);

  it('ranks users as nx.pagerank does', async () => {
    const ranks = await env.rows('gold/pagerank', 'pagerank_rank');
    expect(ranks.map((r) => r['user_id']).sort()).toEqual(Object.keys(nx.pagerank).sort());
    for (const r of ranks) expect(Math.abs(num(r['pagerank']) - nx.pagerank[r['user_id']])).toBeLessThan(1e-9);
    expect(ranks.reduce((s, r) => s + num(r['pagerank']), 0)).toBeCloseTo(1, 9);
    expect(ranks.map((r) => num(r['pagerank_rank']))).toEqual(ranks.map((_, i) => i + 1));
  });

  it('finds the communities label propagation finds in NetworkX, the planted ones', async () => {
    const rows = await env.rows('gold/communities', 'user_id');
    const groups = new Map<string, string[]>();
    for (const r of rows) groups.set(r['community_id'], [...(groups.get(r['community_id']) ?? []), r['user_id']]);
    const partition = (sets: string[][]) => sets.map((s) => [...s].sort().join(',')).sort();
    expect(partition([...groups.values()])).toEqual(partition(nx.communities));
    const planted = [0, 1, 2, 3].map((c) => world.users.filter((u) => u.community === c).map((u) => String(u.id)));
    expect(partition([...groups.values()])).toEqual(partition(planted));
    expect(nx.partition_modularity).toBeCloseTo(nx.modularity, 12);
    expect(rows.every((r) => num(r['community_size']) === groups.get(r['community_id'])?.length)).toBe(true);
  });

  it('counts followers, following and mutual follows', async () => {
    const rows = await env.rows('gold/follow_counts', 'user_id');
    const edges = new Set(world.follows.map((f) => `${f.follower}>${f.followee}`));
    for (const r of rows) {
      const id = Number(r['user_id']);
      expect([num(r['followers']), num(r['following']), num(r['mutual_follows'])]).toEqual([
        world.follows.filter((f) => f.followee === id).length,
        world.follows.filter((f) => f.follower === id).length,
        world.follows.filter((f) => f.follower === id && edges.has(`${f.followee}>${id}`)).length,
      ]);
    }
  });
});

describe('people you may know', () => {
  it('suggests friends of friends the user does not follow and has no block with either way, ranked by common connections', async () => {
    expectPymkLists(await env.rows('gold/pymk', 'user_id, rank'), world);
  });

  it('pushes each user’s list to the user_pymk feature view, best first, with one event time, with its own key', async () => {
    const rows = await env.rows('gold/pymk', 'user_id, rank');
    const pushed = features.pushes.flatMap((p) => p.rows.map((r) => ({ view: p.featureView, ...r })));
    expect(new Set(pushed.map((p) => p.view))).toEqual(new Set(['user_pymk']));
    expect(new Set(features.pushes.map((p) => p.authorization))).toEqual(new Set([`Bearer ${ANALYTICS_KEY}`]));
    expect(features.pushes.every((p) => p.rows.length <= 16)).toBe(true);
    const users = [...new Set(rows.map((r) => r['user_id']))];
    expect(pushed.map((p) => p.joinKeys['user_id'].stringValue).sort()).toEqual(users.sort());
    expect(runs.get('pymk').exportedRows).toBe(users.length);
    for (const p of pushed) {
      const user = p.joinKeys['user_id'].stringValue;
      const list = rows.filter((r) => r['user_id'] === user);
      expect(p.features['candidates'].stringListValue.values).toEqual(list.map((r) => r['candidate_id']));
      expect(p.features['scores'].doubleListValue.values).toEqual(list.map((r) => num(r['score'])));
      expect(p.features['common_connections'].int64ListValue.values).toEqual(list.map((r) => num(r['common_connections'])));
    }
    expect(new Set(pushed.map((p) => JSON.stringify(p.eventTimestamp))).size).toBe(1);
  });
});
