import { analyticsV1 } from '@pulse/contracts';
import { DeltaTable, LocalLakeStorage } from '@pulse/lake';
import { AnalyticsWorld, requireSpark } from './analytics-test-env';
import { buildWorld, CDC_COLUMNS, writeBronze } from './fixtures/bronze-lake';

// What happens when things go wrong, the cases that take several Spark runs: a missing input and its retry, bad
// data. The quick ones (Spark down, two runs of one job at once, two replicas firing one schedule) are in
// failures.int-spec.ts.
const { FAILURE_KIND_BAD_INPUT, FAILURE_KIND_INPUT_MISSING } = analyticsV1.FailureKind;
const { RUN_STATE_FAILED, RUN_STATE_SUCCEEDED } = analyticsV1.RunState;

describe('with Spark up', () => {
  const env = new AnalyticsWorld();
  const world = buildWorld({ seed: 3, communities: 2, usersPerCommunity: 6, days: 2 });

  beforeAll(async () => {
    await requireSpark();
    await env.start();
  }, 120_000);

  afterAll(() => env.close());

  it('fails a run whose input does not exist yet, and a retry succeeds once it does', async () => {
    const failed = await env.runJob('follow_counts');
    expect(failed.state).toBe(RUN_STATE_FAILED);
    expect(failed.failure.kind).toBe(FAILURE_KIND_INPUT_MISSING);
    expect(failed.failure.message).toMatch(/^silver\/follows is not a Delta table at file:.*\(run job silver_follows first\)/);
    expect(failed.outputs).toEqual([]);

    await writeBronze(env.lakeRoot, world);
    expect((await env.runJob('silver_follows')).state).toBe(RUN_STATE_SUCCEEDED);
    const { run } = await env.api.call('RunJob', { job: 'follow_counts', retryOf: failed.runId });
    const retried = await env.waitFor(run.runId);
    expect(retried).toMatchObject({
      state: RUN_STATE_SUCCEEDED,
      retryOf: failed.runId,
      outputs: [{ path: 'gold/follow_counts', version: 0 }],
    });
  }, 600_000);

  it('fails a run on bad data with the rule it broke, and leaves the output as it was', async () => {
    const before = await env.latestCommit('silver/follows');
    // a change without a follower_id (a producer bug) lands in bronze
    const cdc = await DeltaTable.open(new LocalLakeStorage(env.lakeRoot), 'bronze/cdc/public.follows');
    const bad = { followee_id: 101, created_at: '2024-03-04T10:00:00.000000Z', muted: false };
    await cdc.append(
      [
        {
          key: '{"followee_id":101}',
          op: 'c',
          before: null,
          after: JSON.stringify(bad),
          source_ts: new Date('2024-03-04T10:00:00Z'),
          lsn: 999_999,
          tx_id: 999_999,
          snapshot: 'false',
          ts: new Date('2024-03-04T10:00:00Z'),
          kafka_partition: 0,
          kafka_offset: 999_999,
          kafka_timestamp: new Date('2024-03-04T10:00:00Z'),
          change_date: '2024-03-04',
        },
      ].map((r) => Object.fromEntries(CDC_COLUMNS.map((c) => [c.name, (r as Record<string, unknown>)[c.name]]))),
    );
    const run = await env.runJob('silver_follows');
    expect(run.state).toBe(RUN_STATE_FAILED);
    expect(run.failure.kind).toBe(FAILURE_KIND_BAD_INPUT);
    expect(run.failure.message).toMatch(
      /^bronze\/cdc\/public\.follows: 1 row\(s\) break the rule "every change has op c, u, d or r, .* and follower_id and followee_id" \(e\.g\. lsn 999999 op c:/,
    );
    expect(run.inputs).toEqual([{ path: 'bronze/cdc/public.follows', version: 2 }]);
    expect(run.outputs).toEqual([]);
    expect(await env.latestCommit('silver/follows')).toEqual(before);
  }, 600_000);
});
