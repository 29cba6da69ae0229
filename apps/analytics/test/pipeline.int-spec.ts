import { analyticsV1 } from '@pulse/contracts';
import { DeltaTable, defaultLakeEngine, LocalLakeStorage } from '@pulse/lake';
import { startService } from '@pulse/platform/testing';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { AnalyticsWorld, FakeFeatureStore, requireSpark } from './analytics-test-env';
import { appendReturningActivity, buildWorld, type World, writeBronze } from './fixtures/bronze-lake';
import { expectPymkLists } from './pymk-checks';
import * as reference from './reference/duckdb-reference';

// A few jobs end to end on a small world (2 planted communities of 6 users, 3 days): silver activity and
// follows, one aggregate (active users), communities by label propagation and people you may know pushed to the
// feature store, each output checked against the world, DuckDB SQL and NetworkX. Every job, on a larger world,
// is in pipeline-full.int-spec.ts (`npx nx run analytics:int-test-full`).
const repo = join(__dirname, '../../..');
const DAYS = 3;
const world: World = buildWorld({ seed: 7, communities: 2, usersPerCommunity: 6, days: DAYS, followAcross: 0.01 });
const env = new AnalyticsWorld();
const features = new FakeFeatureStore();
const runs = new Map<string, any>();
// The service's own credentials, sent on its pushes to the feature store.
const ANALYTICS_KEY = 'pk_analytics_pipeline_short_test';
// Each job after the ones whose output it reads; communities with a cap on its rounds.
const PLAN: [job: string, parameters: Record<string, string>][] = [
  ['silver_activity', {}],
  ['silver_follows', {}],
  ['silver_blocks', {}],
  ['active_users', {}],
  ['communities', { max_iterations: '12' }],
  ['pymk', {}],
];
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
  await env.start({ FEATURES_GRPC_ADDR: features.address, ANALYTICS_PUSH_BATCH: '4', PULSE_API_KEY: ANALYTICS_KEY });
  for (const [job, parameters] of PLAN) {
    const run = await env.runJob(job, parameters);
    runs.set(job, run);
    if (run.state !== analyticsV1.RunState.RUN_STATE_SUCCEEDED) throw new Error(`${job} failed: ${JSON.stringify(run.failure)}`);
  }
}, 20 * 60_000);

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
    expect(runs.get('communities').parameters).toEqual({ max_iterations: '12' });
    const pymk = runs.get('pymk');
    expect(pymk.inputs.map((i: any) => i.path)).toEqual(['silver/follows', 'gold/communities', 'silver/activity', 'silver/blocks']);
    expect(pymk.parameters).toEqual({ max_candidates: '20', circle_size: '100', fanout: '200', activity_days: '28' });
  });

  it("shows in ListJobs as the job's latest run, and in ListJobRuns", async () => {
    const { jobs } = await env.api.call('ListJobs', {});
    const communities = jobs.find((j: any) => j.name === 'communities');
    expect(communities).toMatchObject({
      layer: analyticsV1.Layer.LAYER_GOLD,
      inputs: ['silver/follows'],
      output: { path: 'gold/communities', partitionColumns: [] },
      lastRun: { runId: runs.get('communities').runId, state: analyticsV1.RunState.RUN_STATE_SUCCEEDED },
    });
    expect(jobs.find((j: any) => j.name === 'pagerank').lastRun).toBeFalsy(); // never run here
    const { runs: history } = await env.api.call('ListJobRuns', { job: 'communities' });
    expect(history.map((r: any) => r.runId)).toEqual([runs.get('communities').runId]);
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

  it('replays the follows to their latest state: unfollows, re-follows, mutes', async () => {
    const follows = await env.rows('silver/follows', 'follower_id, followee_id');
    const key = (a: unknown, b: unknown) => `${a}>${b}`;
    expect(follows.map((f) => key(f['follower_id'], f['followee_id'])).sort()).toEqual(
      world.follows.map((f) => key(f.follower, f.followee)).sort(),
    );
    const edges = new Set(world.follows.map((f) => key(f.follower, f.followee)));
    expect(follows.every((f) => f['mutual'] === edges.has(key(f['followee_id'], f['follower_id'])))).toBe(true);
    const muted = world.follows.filter((f) => f.muted).map((f) => key(f.follower, f.followee));
    expect(follows.filter((f) => f['muted']).map((f) => key(f['follower_id'], f['followee_id']))).toEqual(muted);
  });
});

describe('an aggregate, against DuckDB SQL over the same lake', () => {
  it('counts daily, weekly and monthly active users', async () => {
    const spark = await env.rows('gold/active_users', 'activity_date');
    const duckdb = await duck(reference.activeUsers(bronze));
    expect(spark.map((r) => [r['activity_date'], num(r['dau']), num(r['wau']), num(r['mau'])])).toEqual(
      duckdb.map((r) => [r['activity_date'], num(r['dau']), num(r['wau']), num(r['mau'])]),
    );
    expect(spark).toHaveLength(DAYS);
  });

  it('reads back through ReadJobOutput as the console does: the latest day first, at the version the run wrote', async () => {
    const response = await env.api.call<analyticsV1.ReadJobOutputResponse>('ReadJobOutput', { job: 'active_users', limit: 2 });
    expect(response.version).toBe(Number(runs.get('active_users').outputs[0].version));
    expect(response.columns).toEqual(['activity_date', 'dau', 'wau', 'mau', 'stickiness']);
    expect(Number(response.totalRows)).toBe(DAYS);
    const rows = response.rows.map((r) => JSON.parse(r) as Record<string, unknown>);
    const duckdb = await duck(reference.activeUsers(bronze));
    const latest = duckdb.slice(-2).reverse();
    expect(rows.map((r) => [r['activity_date'], r['dau'], r['mau']])).toEqual(
      latest.map((r) => [r['activity_date'], num(r['dau']), num(r['mau'])]),
    );
    await expect(env.api.call('ReadJobOutput', { job: 'pagerank' })).rejects.toMatchObject({
      code: 5,
      details: expect.stringContaining('the job has not written it yet'),
    });
    await expect(env.api.call('ReadJobOutput', { job: 'active_users', limit: 5000 })).rejects.toMatchObject({ code: 3 });
  });

  it("shows in the console's insights: the active users chart, the jobs' last runs, and what a job not yet run would fill", async () => {
    const web = await startService('console', {
      PULSE_API_KEY: env.credentials,
      ANALYTICS_GRPC_ADDR: env.app!.grpcAddress,
      ANALYTICS_HTTP_URL: env.app!.httpUrl,
    });
    try {
      const chart = (await (await fetch(`${web.httpUrl}/api/charts/insights/active-users`)).json()) as {
        x: number[];
        series: { label: string; values: number[] }[];
      };
      const duckdb = await duck(reference.activeUsers(bronze));
      expect(chart.x).toEqual(duckdb.map((r) => Date.parse(`${r['activity_date']}T00:00:00Z`) / 1000));
      expect(chart.series.map((s) => s.label)).toEqual(['DAU', 'WAU', 'MAU']);
      expect(chart.series[0].values).toEqual(duckdb.map((r) => num(r['dau'])));
      const html = await (await fetch(`${web.httpUrl}/insights`)).text();
      expect(html).toContain('data-job="active_users" data-state="SUCCEEDED"');
      expect(html).toContain('data-job="pagerank" data-state="never run"');
      expect(html).toMatch(/data-empty>[^<]*the output of pagerank \(gold\/pagerank\): the job has not written it yet/);
    } finally {
      await web.stop();
    }
  });
});

describe('communities, against NetworkX on the same graph', () => {
  it(
    'finds the communities label propagation finds in NetworkX, the planted ones',
    async () => {
      const rows = await env.rows('gold/communities', 'user_id');
      const python = execFileSync(join(repo, 'tools/analytics/python-env.sh'), { encoding: 'utf8' }).trim();
      const request = {
        edges: world.follows.map((f) => [f.follower, f.followee]),
        partition: Object.fromEntries(rows.map((c) => [c['user_id'], c['community_id']])),
      };
      const nx: { communities: string[][]; modularity: number; partition_modularity: number } = JSON.parse(
        execFileSync(python, [join(repo, 'tools/analytics/graph_reference.py')], { input: JSON.stringify(request), encoding: 'utf8' }),
      );
      const groups = new Map<string, string[]>();
      for (const r of rows) groups.set(r['community_id'], [...(groups.get(r['community_id']) ?? []), r['user_id']]);
      const partition = (sets: string[][]) => sets.map((s) => [...s].sort().join(',')).sort();
      expect(partition([...groups.values()])).toEqual(partition(nx.communities));
      const planted = [0, 1].map((c) => world.users.filter((u) => u.community === c).map((u) => String(u.id)));
      expect(partition([...groups.values()])).toEqual(partition(planted));
      expect(nx.partition_modularity).toBeCloseTo(nx.modularity, 12);
      expect(rows.every((r) => num(r['community_size']) === groups.get(r['community_id'])?.length)).toBe(true);
    },
    10 * 60_000,
  );
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
    expect(features.pushes.length).toBeGreaterThan(1);
    expect(features.pushes.every((p) => p.rows.length <= 4)).toBe(true);
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

// Last: it adds activity to the lake and runs silver_activity and active_users again.
describe('a user back after weeks away', () => {
  it(
    'counts them once in each window of the days after each return, as DuckDB SQL over the same lake does',
    async () => {
      // Days 9, 40 and 41 from the first: a week after the world's last day (day 2), then more than 30 days after that.
      const [, , back] = await appendReturningActivity(env.lakeRoot, world, world.users[0].id, [9, 40, 41]);
      for (const job of ['silver_activity', 'active_users'])
        expect((await env.runJob(job)).state).toBe(analyticsV1.RunState.RUN_STATE_SUCCEEDED);
      const activity = await (await DeltaTable.open(new LocalLakeStorage(env.lakeRoot), 'bronze/activity')).scanSql();
      const spark = await env.rows('gold/active_users', 'activity_date');
      const duckdb = await duck(reference.activeUsers({ ...bronze, activity }));
      expect(spark.map((r) => [r['activity_date'], num(r['dau']), num(r['wau']), num(r['mau'])])).toEqual(
        duckdb.map((r) => [r['activity_date'], num(r['dau']), num(r['wau']), num(r['mau'])]),
      );
      // Days 0 to 41 but day 39, the only one with no activity within its 30 days; on the last, only the returner.
      expect(spark).toHaveLength(41);
      const day39 = new Date(Date.parse(`${spark[0]['activity_date']}T00:00:00Z`) + 39 * 86_400_000).toISOString().slice(0, 10);
      expect(spark.map((r) => r['activity_date'])).not.toContain(day39);
      expect(spark.at(-1)).toMatchObject({ activity_date: back.event_date });
      expect([num(spark.at(-1)!['dau']), num(spark.at(-1)!['wau']), num(spark.at(-1)!['mau'])]).toEqual([1, 1, 1]);
    },
    10 * 60_000,
  );
});
