import { status } from '@grpc/grpc-js';
import { analyticsV1 } from '@pulse/contracts';
import { freePort } from '@pulse/platform';
import { randomUUID } from 'node:crypto';
import { JobRunsRepository } from '../src/runs/job-run';
import { AnalyticsWorld, requireSpark } from './analytics-test-env';
import { buildWorld, writeBronze } from './fixtures/bronze-lake';

// What happens when things go wrong: a missing input (and one a job reads as empty until written), Spark down,
// two runs of one job at once, two replicas firing one schedule. Small and quick: two Spark runs that succeed, the
// others fail before their first read. The
// retry of a failed run and bad data (several Spark runs) are in failures-full.int-spec.ts.
const { FAILURE_KIND_INPUT_MISSING, FAILURE_KIND_SPARK_UNAVAILABLE } = analyticsV1.FailureKind;
const { RUN_STATE_FAILED, RUN_STATE_SUCCEEDED } = analyticsV1.RunState;

describe('with Spark up', () => {
  const env = new AnalyticsWorld();
  const world = buildWorld({ seed: 3, communities: 2, usersPerCommunity: 6, days: 2 });

  beforeAll(async () => {
    await requireSpark();
    await env.start();
  }, 120_000);

  afterAll(() => env.close());

  it('fails a run whose input does not exist yet', async () => {
    const failed = await env.runJob('follow_counts');
    expect(failed.state).toBe(RUN_STATE_FAILED);
    expect(failed.failure.kind).toBe(FAILURE_KIND_INPUT_MISSING);
    expect(failed.failure.message).toMatch(/^silver\/follows is not a Delta table at file:.*\(run job silver_follows first\)/);
    expect(failed.outputs).toEqual([]);
  }, 600_000);

  it('reads an app table with no change yet as empty: silver_blocks succeeds with no rows and no version read', async () => {
    const run = await env.runJob('silver_blocks');
    expect(run.state).toBe(RUN_STATE_SUCCEEDED);
    expect(run.inputs).toEqual([]);
    expect(run.outputs).toEqual([{ path: 'silver/blocks', version: 0 }]);
    expect(run.outputRows).toBe(0);
  }, 600_000);

  it('refuses a second run of a job while the first is in progress', async () => {
    await writeBronze(env.lakeRoot, world);
    const { run } = await env.api.call('RunJob', { job: 'silver_users' });
    const second = await env.api.call('RunJob', { job: 'silver_users' }).catch((e: { code: number; details: string }) => e);
    expect(second).toMatchObject({ code: status.ABORTED, details: expect.stringContaining(run.runId) });
    expect((await env.waitFor(run.runId)).state).toBe(RUN_STATE_SUCCEEDED);
  }, 600_000);

  it('starts one run per schedule time and job, whichever replica fires it first', async () => {
    const repository = env.app?.app.get(JobRunsRepository);
    if (!repository) throw new Error('no app');
    const at = Date.UTC(2024, 2, 1, 3, 0);
    const fire = (replica: string) =>
      repository.create({ runId: randomUUID(), job: 'pagerank', trigger: 'SCHEDULE', scheduledForMs: at, parameters: {}, replica });
    const [a, b] = await Promise.all([fire('replica-a'), fire('replica-b')]);
    expect([a, b].filter((r) => 'created' in r)).toHaveLength(1);
    expect([a, b].filter((r) => 'alreadyScheduled' in r || 'activeRunId' in r)).toHaveLength(1);
    // the run stays active (no replica runs it here): the next firing of the same job is refused too
    const next = await repository.create({
      runId: randomUUID(),
      job: 'pagerank',
      trigger: 'SCHEDULE',
      scheduledForMs: at + 3_600_000,
      parameters: {},
      replica: 'replica-a',
    });
    expect(next).toEqual({ activeRunId: 'created' in a ? a.created.runId : 'created' in b ? b.created.runId : '' });
    await repository.failAbandoned(Date.now() + 1, 'test over', Date.now());
  });
});

describe('with Spark down', () => {
  const env = new AnalyticsWorld();

  beforeAll(async () => {
    const closed = await freePort(); // nothing listens there
    await env.start({ SPARK_REMOTE: `sc://127.0.0.1:${closed}` });
  });

  afterAll(() => env.close());

  it('stays up and ready, and says it is degraded', async () => {
    const response = await fetch(`${env.app?.httpUrl}/health/ready`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ready: boolean; degraded: boolean; checks: Record<string, { ok: boolean; error?: string }> };
    expect(body).toMatchObject({ ready: true, degraded: true, checks: { postgres: { ok: true }, spark: { ok: false } } });
    expect(body.checks['spark'].error).toMatch(/Spark Connect did not answer/);
    const { jobs } = await env.api.call('ListJobs', {});
    expect(jobs.length).toBeGreaterThan(10);
  });

  it('fails runs with SPARK_UNAVAILABLE and how to start Spark', async () => {
    const run = await env.runJob('silver_activity');
    expect(run.state).toBe(RUN_STATE_FAILED);
    expect(run.failure.kind).toBe(FAILURE_KIND_SPARK_UNAVAILABLE);
    expect(run.failure.message).toMatch(/tools\/stack\/stack up spark/);
  });
});
