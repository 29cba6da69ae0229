import { ingestV1, millisToTimestamp, recsV1, Topics } from '@pulse/contracts';
import { DeltaTable, LocalLakeStorage } from '@pulse/lake';
import { startService } from '@pulse/platform/testing';
import { rm } from 'node:fs/promises';
import { type EtlRun, newRun, queryTable, startEtl, testEngine, testKafka, tracked, waitFor } from './etl-test-kit';

const kafka = testKafka('experiment-exposures');
const runs: EtlRun[] = [];
const T0 = Date.UTC(2024, 6, 1, 12);

afterAll(async () => {
  await kafka.admin.deleteTopics(runs.flatMap((r) => [r.activityTopic.name, r.env.ETL_SERVED_TOPIC])).catch(() => undefined);
  await kafka.close();
  for (const run of runs) await rm(run.lakeRoot, { recursive: true, force: true });
});

function servedTopic(run: EtlRun) {
  return { ...Topics.recsServed, name: run.env.ETL_SERVED_TOPIC };
}

async function setUp(): Promise<EtlRun> {
  const run = newRun();
  runs.push(run);
  await kafka.admin.ensureTopics([run.activityTopic, servedTopic(run)]);
  return run;
}

function served(id: string, at: number, experiment: { id: string; variant: string } | null): recsV1.RecommendationServed {
  return {
    recommendationId: id,
    userId: `u-${id}`,
    seedItemId: '',
    items: [{ itemId: 'p-1', score: 1, rank: 1, sources: [recsV1.CandidateSource.CANDIDATE_SOURCE_MODEL] }],
    modelVersion: 'v-1',
    strategy: recsV1.Strategy.STRATEGY_PERSONALIZED,
    context: {},
    servedAt: millisToTimestamp(at),
    experimentId: experiment?.id ?? '',
    variant: experiment?.variant ?? '',
    degraded: [],
  };
}

function outcome(eventId: string, recommendationId: string, type: ingestV1.ActivityType, at: number): ingestV1.ActivityTracked {
  const t = tracked(eventId, `u-${recommendationId}`, type, at);
  return { ...t, event: { ...t.event!, recommendationId, properties: { dwell_ms: '1500' } } };
}

async function produceServed(run: EtlRun, lists: recsV1.RecommendationServed[]) {
  for (let i = 0; i < lists.length; i += 2000)
    await kafka.producer.send(
      servedTopic(run),
      lists.slice(i, i + 2000).map((value) => ({ key: value.recommendationId, value })),
    );
}

async function produceActivity(run: EtlRun, events: ingestV1.ActivityTracked[]) {
  for (let i = 0; i < events.length; i += 2000)
    await kafka.producer.send(
      run.activityTopic,
      events.slice(i, i + 2000).map((value) => ({ key: value.event!.userId, value })),
    );
}

async function exposuresTable(run: EtlRun): Promise<DeltaTable | undefined> {
  const storage = new LocalLakeStorage(run.lakeRoot);
  if (!(await DeltaTable.exists(storage, 'experiments/exposures'))) return undefined;
  return DeltaTable.open(storage, 'experiments/exposures', { engine: await testEngine() });
}

/** Sum of a counter over the table's commits (operationMetrics: a counter row per commit). */
async function committed(run: EtlRun, metric: string): Promise<number> {
  const table = await exposuresTable(run);
  if (!table) return 0;
  return (await table.history()).reduce((s, h) => s + Number(h.operationMetrics[metric] ?? 0), 0);
}

/** Records of the run's two topics the table's offsets cover. */
async function offsetsCovered(run: EtlRun): Promise<number> {
  const table = await exposuresTable(run);
  return table ? [...table.snapshot().txns.values()].reduce((s, t) => s + t.version, 0) : 0;
}

async function counts(run: EtlRun) {
  if (!(await exposuresTable(run))) return { rows: 0, distinct: 0, clicks: 0 };
  const [row] = await queryTable<{ rows: number; distinct: number; clicks: number }>(
    run,
    'experiments/exposures',
    'SELECT count(*)::INT AS rows, count(DISTINCT recommendation_id)::INT AS distinct, coalesce(sum(clicks), 0)::INT AS clicks FROM {t}',
  );
  return row;
}

describe('experiments/exposures', () => {
  it('holds every exposure and outcome once after a kill -9 in the middle of the stream and a restart', async () => {
    const run = await setUp();
    const lists = 4000;
    const inExperiment = (i: number) => i % 5 !== 0;
    const serve = Array.from({ length: lists }, (_, i) =>
      served(`${run.id}-r${i}`, T0 + i * 10, inExperiment(i) ? { id: 'exp-a', variant: i % 2 ? 'control' : 'treatment' } : null),
    );
    const outcomes = serve.map((s, i) =>
      outcome(`${run.id}-o${i}`, s.recommendationId, ingestV1.ActivityType.ACTIVITY_TYPE_CLICK, T0 + i * 10 + 5000),
    );
    await produceServed(run, serve);
    await produceActivity(run, outcomes);
    const total = lists * 2;
    const env = {
      ...run.env,
      ETL_AGGREGATE_STREAMS: 'false',
      ETL_BRONZE_STREAMS: 'false',
      ETL_EXPERIMENT_STREAM: 'true',
      ETL_MAX_BATCH_RECORDS: '300',
      ETL_TRIGGER_INTERVAL: '50ms',
      ETL_ATTRIBUTION_WINDOW: '10m',
      ETL_WATERMARK_DELAY: '0s',
      ETL_ALLOWED_LATENESS: '1h',
    };

    const first = await startService('etl', env);
    await waitFor(
      () => offsetsCovered(run),
      (n) => n >= 1500,
    );
    await first.kill('SIGKILL');
    expect(await offsetsCovered(run)).toBeLessThan(total); // the crash really was mid-stream

    const second = await startService('etl', env);
    try {
      await waitFor(
        () => offsetsCovered(run),
        (n) => n >= total,
        90_000,
      );
      // Far later event time: every window closes.
      await produceServed(run, [served(`${run.id}-tick`, T0 + 3 * 3_600_000, null)]);
      const expected = serve.filter((_, i) => inExperiment(i)).length;
      const after = await waitFor(
        () => counts(run),
        (c) => c.rows >= expected,
        60_000,
      );
      await new Promise((r) => setTimeout(r, 1000));
      expect(await counts(run)).toEqual({ rows: expected, distinct: expected, clicks: expected });
      expect(after.rows).toBe(expected);
      // Each outcome was counted once across the crash: attributed, or not in an experiment.
      expect(await committed(run, 'numOutcomes_matched')).toBe(expected);
      expect(await committed(run, 'numOutcomes_not_in_experiment')).toBe(lists - expected);
      expect(await committed(run, 'numOutcomes_no_exposure')).toBe(0);
    } finally {
      await second.stop();
    }
  });

  it('keeps a written exposure as it was when a late outcome arrives, and counts late and unmatched outcomes', async () => {
    const run = await setUp();
    const app = await startEtl(run, {
      ETL_AGGREGATE_STREAMS: 'false',
      ETL_BRONZE_STREAMS: 'false',
      ETL_EXPERIMENT_STREAM: 'true',
      ETL_ATTRIBUTION_WINDOW: '1m',
      ETL_WATERMARK_DELAY: '0s',
      ETL_ALLOWED_LATENESS: '30s',
    });
    try {
      const { ActivityType } = ingestV1;
      const id = `${run.id}-r`;
      await produceServed(run, [served(id, T0, { id: 'exp-late', variant: 'treatment' })]);
      await produceActivity(run, [
        outcome(`${run.id}-click`, id, ActivityType.ACTIVITY_TYPE_CLICK, T0 + 10_000),
        outcome(`${run.id}-view`, id, ActivityType.ACTIVITY_TYPE_VIEW, T0 + 20_000),
      ]);
      await waitFor(
        () => committed(run, 'numOutcomes_matched'),
        (n) => n >= 2,
      );
      // The watermark passes the window's end plus the lateness: the exposure is written.
      await produceServed(run, [served(`${run.id}-tick1`, T0 + 5 * 60_000, null)]);
      await waitFor(
        () => counts(run),
        (c) => c.rows >= 1,
      );
      // An outcome of that list, too late, and one whose list never comes.
      await produceActivity(run, [
        outcome(`${run.id}-late`, id, ActivityType.ACTIVITY_TYPE_LIKE, T0 + 30_000),
        outcome(`${run.id}-orphan`, `${run.id}-nobody`, ActivityType.ACTIVITY_TYPE_CLICK, T0 + 5 * 60_000 + 1000),
      ]);
      await waitFor(
        () => committed(run, 'numOutcomes_late'),
        (n) => n >= 1,
      );
      await produceServed(run, [served(`${run.id}-tick2`, T0 + 10 * 60_000, null)]);
      await waitFor(
        () => committed(run, 'numOutcomes_no_exposure'),
        (n) => n >= 1,
      );
      const rows = await queryTable<{
        clicks: number;
        views: number;
        likes: number;
        dwell_ms: number;
        variant: string;
        served_date: string;
      }>(
        run,
        'experiments/exposures',
        "SELECT clicks::INT AS clicks, views::INT AS views, likes::INT AS likes, dwell_ms::INT AS dwell_ms, variant, served_date::VARCHAR AS served_date FROM {t} WHERE experiment_id = 'exp-late'",
      );
      expect(rows).toEqual([{ clicks: 1, views: 1, likes: 0, dwell_ms: 1500, variant: 'treatment', served_date: '2024-07-01' }]);
      expect(await committed(run, 'numOutcomes_late')).toBe(1);
      expect(await committed(run, 'numOutcomes_no_exposure')).toBe(1);
      const metrics = await (await fetch(`${app.running.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/etl_experiment_outcomes_total\{outcome="late"[^}]*\} 1/);
      expect(metrics).toMatch(/etl_experiment_outcomes_total\{outcome="no_exposure"[^}]*\} 1/);
    } finally {
      await app.close();
    }
  });
});
