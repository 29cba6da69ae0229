import { createLogger, ServiceMetrics } from '@pulse/platform';
import { JobCatalog } from '../jobs/job-catalog';
import type { JobDefinition } from '../jobs/job-definition';
import { LakeLocation } from '../lake/lake-location';
import type { ArrowRow } from '../spark/arrow-ipc';
import type { SparkConnectClient } from '../spark/spark-connect.client';
import { SparkError } from '../spark/spark-errors';
import { FakeFeaturePusher, FakeSparkSession, InMemoryJobRunsRepository } from '../testing/fakes';
import type { JobRun } from './job-run';
import { JobRunner } from './job-runner.service';

const silver: JobDefinition = {
  name: 'silver_things',
  description: 'things, deduplicated',
  layer: 'silver',
  inputs: ['bronze/things', 'bronze/other'],
  output: { path: 'silver/things', partitionBy: ['day'], description: 'one thing' },
  schedule: '',
  expectations: [
    { input: 'bronze/things', rule: 'every thing has an id', sql: (ctx) => `SELECT violations FROM ${ctx.input('bronze/things')}` },
  ],
  build: async (ctx) => {
    await ctx.stage('step', `SELECT * FROM ${ctx.input('bronze/things')}`);
    return `SELECT * FROM step JOIN ${ctx.input('bronze/other')}`;
  },
};

const exported: JobDefinition = {
  name: 'gold_lists',
  description: 'lists',
  layer: 'gold',
  inputs: ['silver/things'],
  output: { path: 'gold/lists', partitionBy: [], description: 'one list' },
  schedule: '',
  build: async (ctx) => `SELECT * FROM ${ctx.input('silver/things')}`,
  export: {
    featureView: 'user_lists',
    joinKey: 'user_id',
    sql: (output) => `EXPORT ${output}`,
    features: (row) => ({ items: { stringListValue: { values: row['items'] as string[] } } }),
  },
};

interface Setup {
  versions?: Record<string, number>;
  answer?: (sql: string) => ArrowRow[] | Error;
  pusher?: FakeFeaturePusher;
  down?: boolean;
  /** Changes each session before the runner uses it. */
  patch?: (session: FakeSparkSession) => void;
}

/** The session's write runs (after `writing` is called) until the session is interrupted, then fails as Spark's does. */
function writeUntilInterrupted(session: FakeSparkSession, writing: () => void): void {
  let cancel: () => void = () => undefined;
  session.writeDelta = () =>
    new Promise((_, reject) => {
      cancel = () => reject(new SparkError('[OPERATION_CANCELED] Operation has been canceled.', 'cancelled'));
      writing();
    });
  session.interrupt = async () => {
    session.interrupted = true;
    cancel();
  };
}

function setup(options: Setup = {}) {
  const repository = new InMemoryJobRunsRepository();
  const sessions: FakeSparkSession[] = [];
  const versions = new Map(Object.entries(options.versions ?? { 'bronze/things': 7, 'bronze/other': 3, 'silver/things': 2 }));
  const spark = {
    // a session id names one session on the server: another replica opening it gets the same one
    session: (id: string) => {
      const existing = sessions.find((s) => s.id === id);
      if (existing) return existing;
      if (options.down) {
        const failing = new FakeSparkSession(id, versions, () => new SparkError('Spark Connect did not answer', 'unavailable'));
        failing.sql = async () => {
          throw new SparkError('Spark Connect did not answer SQL DESCRIBE HISTORY: connect ECONNREFUSED', 'unavailable');
        };
        sessions.push(failing);
        return failing;
      }
      const session = new FakeSparkSession(
        id,
        versions,
        options.answer ?? ((sql) => (sql.includes('violations') ? [{ violations: 0 }] : [])),
      );
      options.patch?.(session);
      sessions.push(session);
      return session;
    },
  } as unknown as SparkConnectClient;
  const pusher = options.pusher ?? new FakeFeaturePusher();
  const replica = () =>
    new JobRunner(
      new JobCatalog([silver, exported]),
      repository,
      spark,
      new LakeLocation('/lake'),
      pusher,
      { maxConcurrentRuns: 1, pushBatch: 2 },
      createLogger('analytics-test', 'silent'),
      new ServiceMetrics('analytics-test'),
    );
  const runner = replica();
  const run = async (job: string): Promise<JobRun> => {
    const result = await runner.submit({ job, trigger: 'MANUAL', parameters: {} });
    if (!('created' in result)) throw new Error(`not started: ${JSON.stringify(result)}`);
    await runner.idle();
    return (await repository.get(result.created.runId)) as JobRun;
  };
  return { runner, repository, sessions, pusher, run, replica };
}

describe('JobRunner', () => {
  it('reads each input at the version it pinned, writes the output once and records both versions', async () => {
    const { run, sessions } = setup();
    const done = await run('silver_things');
    expect(done.state).toBe('SUCCEEDED');
    expect(done.inputs).toEqual([
      { path: 'bronze/things', version: 7 },
      { path: 'bronze/other', version: 3 },
    ]);
    expect(done.outputs).toEqual([{ path: 'silver/things', version: 3 }]);
    expect(done.outputRows).toBe(42);
    const [session] = sessions;
    expect(session.writes).toHaveLength(1);
    const [write] = session.writes;
    expect(write).toMatchObject({ path: 'file:/lake/silver/things', mode: 'overwrite', partitionBy: ['day'] });
    expect(write.query).toContain('delta.`file:/lake/bronze/other` VERSION AS OF 3');
    expect(session.checkpoints.get('cp-0') ?? [...session.checkpoints.values()][0]).toContain(
      'delta.`file:/lake/bronze/things` VERSION AS OF 7',
    );
    expect(JSON.parse(write.options?.['userMetadata'] ?? '{}')).toEqual({
      pulse_run_id: done.runId,
      job: 'silver_things',
      parameters: {},
      reads: { 'bronze/things': 7, 'bronze/other': 3 },
    });
    expect(session.released).toBe(true);
  });

  it('fails a run whose input breaks an expectation before writing anything', async () => {
    const { run, sessions } = setup({
      answer: (sql) => (sql.includes('violations') ? [{ violations: 3, example: 'thing without id' }] : []),
    });
    const done = await run('silver_things');
    expect(done.state).toBe('FAILED');
    expect(done.failure).toEqual({
      kind: 'BAD_INPUT',
      message: 'bronze/things: 3 row(s) break the rule "every thing has an id" (e.g. thing without id)',
    });
    expect(sessions[0].writes).toHaveLength(0);
    expect(done.outputs).toEqual([]);
  });

  it('fails a run whose input table does not exist, naming what writes it', async () => {
    const { run } = setup({ versions: { 'bronze/other': 1 } });
    const done = await run('silver_things');
    expect(done.failure?.kind).toBe('INPUT_MISSING');
    expect(done.failure?.message).toMatch(
      /^bronze\/things is not a Delta table at file:\/lake\/bronze\/things \(written by the etl service\)/,
    );
    const gold = await setup({ versions: {} }).run('gold_lists');
    expect(gold.failure?.message).toMatch(/run job silver_things first/);
  });

  it('fails a run when Spark is down, and the job can run again afterwards', async () => {
    const down = setup({ down: true });
    const failed = await down.run('silver_things');
    expect(failed.state).toBe('FAILED');
    expect(failed.failure?.kind).toBe('SPARK_UNAVAILABLE');
    expect(failed.failure?.message).toMatch(/ECONNREFUSED/);
    // nothing holds the job: the next run starts
    const again = await down.runner.submit({ job: 'silver_things', trigger: 'MANUAL', parameters: {} });
    expect('created' in again).toBe(true);
    await down.runner.idle();
  });

  it('classifies Spark failures during the build: bad data, out of memory, other errors', async () => {
    const cases: [SparkError, string][] = [
      [new SparkError('[CAST_INVALID_INPUT] The value x cannot be cast', 'bad_input'), 'BAD_INPUT'],
      [new SparkError('java.lang.OutOfMemoryError: Java heap space', 'out_of_memory'), 'OUT_OF_MEMORY'],
      [new SparkError('[UNRESOLVED_COLUMN] nope', 'spark_error'), 'SPARK_ERROR'],
    ];
    for (const [error, kind] of cases) {
      const { run, sessions } = setup({
        answer: (sql) => (sql.includes('violations') ? [{ violations: 0 }] : sql.includes('JOIN') ? error : []),
      });
      const done = await run('silver_things');
      expect(done.failure).toEqual({ kind, message: error.message });
      expect(sessions[0].writes).toHaveLength(0);
    }
  });

  it('does not start a second run of a job while one is active', async () => {
    const { runner, repository } = setup();
    const first = await runner.submit({ job: 'silver_things', trigger: 'MANUAL', parameters: {} });
    const second = await runner.submit({ job: 'silver_things', trigger: 'MANUAL', parameters: {} });
    expect('created' in first && second).toEqual({ activeRunId: 'created' in first ? first.created.runId : '' });
    await runner.idle();
    expect([...repository.runs.values()].map((r) => r.state)).toEqual(['SUCCEEDED']);
  });

  it('asks Delta for an optimized write only when the output is partitioned', async () => {
    const partitioned = setup();
    await partitioned.run('silver_things');
    expect(partitioned.sessions[0].writes[0].options?.['optimizeWrite']).toBe('true');
    const unpartitioned = setup();
    await unpartitioned.run('gold_lists');
    expect(unpartitioned.sessions[0].writes[0].options).not.toHaveProperty('optimizeWrite');
  });

  it('pushes the committed output to the feature store in batches, one event time for all', async () => {
    const rows = [1, 2, 3].map((i) => ({ user_id: `u${i}`, items: [`c${i}`, 'c9'] }));
    const { run, pusher, sessions } = setup({ answer: (sql) => (sql.startsWith('EXPORT') ? rows : []) });
    const done = await run('gold_lists');
    expect(done.state).toBe('SUCCEEDED');
    expect(done.exportedRows).toBe(3);
    expect(sessions[0].statements.find((s) => s.startsWith('EXPORT'))).toBe('EXPORT delta.`file:/lake/gold/lists` VERSION AS OF 0');
    expect(pusher.pushed.map((p) => [p.featureView, p.row])).toEqual(
      rows.map((r) => [
        'user_lists',
        { joinKeys: { user_id: { stringValue: r.user_id } }, features: { items: { stringListValue: { values: r.items } } } },
      ]),
    );
    expect(new Set(pusher.pushed.map((p) => p.eventTimeMs)).size).toBe(1);
  });

  it('fails with EXPORT_FAILED when the push fails, keeping the version it wrote on record', async () => {
    const rows = [1, 2, 3].map((i) => ({ user_id: `u${i}`, items: [] }));
    const { run } = setup({ answer: (sql) => (sql.startsWith('EXPORT') ? rows : []), pusher: new FakeFeaturePusher(2) });
    const done = await run('gold_lists');
    expect(done.state).toBe('FAILED');
    expect(done.failure?.kind).toBe('EXPORT_FAILED');
    expect(done.failure?.message).toMatch(
      /gold\/lists version 0 is written, but pushing it to feature view user_lists failed after 2 rows/,
    );
    expect(done.outputs).toEqual([{ path: 'gold/lists', version: 0 }]);
    expect(done.exportedRows).toBe(2);
  });

  it('interrupts the runs in progress on shutdown and records them as INTERRUPTED', async () => {
    let writing: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (writing = resolve));
    const { runner, repository, sessions } = setup({
      patch: (session) => writeUntilInterrupted(session, writing),
    });
    const result = await runner.submit({ job: 'silver_things', trigger: 'MANUAL', parameters: {} });
    await started;
    await runner.beforeApplicationShutdown();
    const run = await repository.get('created' in result ? result.created.runId : '');
    expect(sessions[0].interrupted).toBe(true);
    expect(run?.state).toBe('FAILED');
    expect(run?.failure?.kind).toBe('INTERRUPTED');
    await expect(runner.submit({ job: 'silver_things', trigger: 'MANUAL', parameters: {} })).rejects.toThrow(/shutting down/);
  });

  describe('a run abandoned by a replica that stopped reporting', () => {
    /** Replica A runs `job` until `hang` holds it; the scheduler fails the run; replica B settles it. */
    async function abandon(job: string, options: Setup & { hang: (session: FakeSparkSession, held: () => void) => void }) {
      let held: () => void = () => undefined;
      const holding = new Promise<void>((resolve) => (held = resolve));
      const world = setup({ ...options, patch: (session) => options.hang(session, held) });
      const result = await world.runner.submit({ job, trigger: 'MANUAL', parameters: {} });
      const runId = 'created' in result ? result.created.runId : '';
      await holding;
      const [abandoned] = await world.repository.failAbandoned(Date.now() + 1, 'the replica stopped reporting for 120 s', Date.now());
      const settled = await world.replica().settleAbandoned(abandoned);
      return { ...world, runId, settled, run: await world.repository.get(runId) };
    }

    it('records the output it committed before it stopped, and stops its Spark session', async () => {
      const pusher = new FakeFeaturePusher();
      let stop: () => void = () => undefined;
      const { settled, run, sessions, runner } = await abandon('gold_lists', {
        answer: (sql) => (sql.startsWith('EXPORT') ? [{ user_id: 'u1', items: ['a'] }] : []),
        pusher,
        // committed; the push to the feature store never answers (the replica is gone)
        hang: (_session, held) =>
          (pusher.push = () =>
            new Promise((_, reject) => {
              stop = () => reject(new Error('stopped'));
              held();
            })),
      });
      expect(settled).toEqual({ path: 'gold/lists', version: 0 });
      expect(run).toMatchObject({
        state: 'FAILED',
        outputs: [{ path: 'gold/lists', version: 0 }],
        outputRows: 42,
        failure: {
          kind: 'INTERRUPTED',
          message:
            'the replica stopped reporting for 120 s; before it stopped, the run committed gold/lists version 0 (42 rows), not pushed to feature view user_lists',
        },
      });
      expect(sessions[0]).toMatchObject({ interrupted: true, released: true });
      stop();
      await runner.idle();
    });

    it('interrupts a write still running, and records no output when none was committed', async () => {
      const { settled, run, sessions, runner } = await abandon('silver_things', {
        hang: writeUntilInterrupted,
      });
      expect(settled).toBeUndefined();
      expect(sessions[0].interrupted).toBe(true);
      expect(run).toMatchObject({
        state: 'FAILED',
        outputs: [],
        failure: { kind: 'INTERRUPTED', message: 'the replica stopped reporting for 120 s' },
      });
      await runner.idle();
    });
  });
});
