import { status } from '@grpc/grpc-js';
import { aggregateTopic, etlV1, millisToTimestamp, timestampToMillis } from '@pulse/contracts';
import { readTopicUntil } from '@pulse/platform/testing';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  ActivityType,
  bronzeCounts,
  type EtlRun,
  type EtlTestApp,
  newRun,
  produce,
  queryTable,
  startEtl,
  TargetType,
  testKafka,
  tracked,
  waitFor,
} from './etl-test-kit';

/**
 * One ETL app over hand-built activity: three hours of events on five posts, copies of some of them after a restart
 * (as ingest may write a retried event again), then late events once the hours are closed. The aggregates must equal
 * plain queries over the bronze table (each event once), the late events must be on the late topic with their reason,
 * and the operations API must act on the same tables.
 */
const kafka = testKafka('aggregates');
const run: EtlRun = newRun();
let app: EtlTestApp;

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2024, 5, 1, 10);
const TYPES = [
  ActivityType.ACTIVITY_TYPE_IMPRESSION,
  ActivityType.ACTIVITY_TYPE_IMPRESSION,
  ActivityType.ACTIVITY_TYPE_IMPRESSION,
  ActivityType.ACTIVITY_TYPE_VIEW,
  ActivityType.ACTIVITY_TYPE_CLICK,
  ActivityType.ACTIVITY_TYPE_LIKE,
  ActivityType.ACTIVITY_TYPE_COMMENT,
  ActivityType.ACTIVITY_TYPE_SHARE,
];
const ON_TIME = 900;
/** Copies of the first on-time events, written again after etl restarted. */
const COPIES = 150;
const LATE = 12;
const repo = resolve(__dirname, '../../..');

function grpcCode(error: unknown): number | undefined {
  return (error as { code?: number }).code;
}

beforeAll(async () => {
  await kafka.admin.ensureTopics([run.activityTopic, run.lateTopic]);
  app = await startEtl(run);
  const events = Array.from({ length: ON_TIME }, (_, i) =>
    // Spread over 10:00–12:59, slightly out of order, across 5 posts and 30 users.
    tracked(`${run.id}-e${i}`, `u${i % 30}`, TYPES[i % TYPES.length], T0 + ((i * 7) % 180) * MIN + (i % 50) * 1000, {
      type: TargetType.TARGET_TYPE_POST,
      id: `p${i % 5}`,
    }),
  );
  await produce(kafka, run, events);
  // The aggregates commit every event; then etl restarts and copies of the first events come (their windows are open).
  await waitFor(
    () => app.client.call<etlV1.GetStatusResponse>('GetStatus', {}),
    (s) =>
      s.streams
        .filter((st) => st.name.startsWith('agg_'))
        .every((st) => st.offsets.reduce((n, o) => n + Number(o.committedOffset), 0) === ON_TIME),
  );
  await app.close();
  app = await startEtl(run);
  await produce(kafka, run, events.slice(0, COPIES));
  // One event at 14:00 moves the watermark to 13:58: the 10, 11 and 12 o'clock windows close (end + 5 min lateness).
  await produce(kafka, run, [tracked(`${run.id}-advance`, 'u0', ActivityType.ACTIVITY_TYPE_VIEW, T0 + 4 * HOUR)]);
  await waitFor(
    () => queryTable<{ n: number }>(run, `agg/${run.id}_post_engagement_1h`, 'SELECT count(DISTINCT window_start)::INT AS n FROM {t}'),
    ([r]) => r.n === 3,
  );
  // Too late: their windows are final.
  await produce(
    kafka,
    run,
    Array.from({ length: LATE }, (_, i) =>
      tracked(`${run.id}-late${i}`, `u${i}`, ActivityType.ACTIVITY_TYPE_LIKE, T0 + 30 * MIN + i * 1000, {
        type: TargetType.TARGET_TYPE_POST,
        id: 'p1',
      }),
    ),
  );
  await waitFor(
    () => bronzeCounts(run),
    (c) => c.rows === ON_TIME + 1 + LATE,
  );
}, 120_000);

afterAll(async () => {
  await app?.close();
  const aggregates = ['post_engagement_1h', 'user_actions_1h', 'user_sessions'].map((a) => aggregateTopic(`${run.id}_${a}`).name);
  await kafka.admin.deleteTopics([run.activityTopic.name, run.lateTopic.name, ...aggregates]).catch(() => undefined);
  await kafka.close();
  await rm(run.lakeRoot, { recursive: true, force: true });
});

describe('window aggregates', () => {
  it('writes final hourly engagement per post equal to a plain query over the bronze table', async () => {
    const late = `'${Array.from({ length: LATE }, (_, i) => `${run.id}-late${i}`).join("','")}'`;
    const expected = await queryTable(
      run,
      'bronze/activity',
      `SELECT epoch_ms(time_bucket(INTERVAL 1 HOUR, occurred_at, TIMESTAMPTZ '2024-01-01 00:00:00+00'))::BIGINT AS ws, target_id AS post_id,
              count(*) FILTER (WHERE type = 'IMPRESSION')::INT AS impressions, count(*) FILTER (WHERE type = 'VIEW')::INT AS views,
              count(*) FILTER (WHERE type = 'CLICK')::INT AS clicks, count(*) FILTER (WHERE type = 'LIKE')::INT AS likes,
              count(*) FILTER (WHERE type = 'COMMENT')::INT AS comments, count(*) FILTER (WHERE type = 'SHARE')::INT AS shares
       FROM {t} WHERE target_type = 'POST' AND occurred_at < TIMESTAMPTZ '2024-06-01 13:00:00+00' AND event_id NOT IN (${late})
       GROUP BY ALL ORDER BY ws, post_id`,
    );
    const actual = await queryTable(
      run,
      `agg/${run.id}_post_engagement_1h`,
      `SELECT epoch_ms(window_start)::BIGINT AS ws, post_id, impressions::INT AS impressions, views::INT AS views, clicks::INT AS clicks,
              likes::INT AS likes, comments::INT AS comments, shares::INT AS shares FROM {t} ORDER BY ws, post_id`,
    );
    expect(expected).toHaveLength(15);
    expect(actual).toEqual(expected);
    const [ctr] = await queryTable<{ bad: number }>(
      run,
      `agg/${run.id}_post_engagement_1h`,
      'SELECT count(*) FILTER (WHERE abs(ctr - clicks / impressions) > 1e-9 OR engagements <> likes + comments + shares + bookmarks)::INT AS bad FROM {t}',
    );
    expect(ctr.bad).toBe(0);
    // Only the window states of the latest commits are kept.
    const states = readdirSync(join(run.lakeRoot, `agg/${run.id}_post_engagement_1h/_pulse_state/agg_${run.id}_post_engagement_1h`));
    expect(states.length).toBeGreaterThanOrEqual(1);
    expect(states.length).toBeLessThanOrEqual(2);
  });

  it('computes sliding windows per user as counts over each window range', async () => {
    const windows = await queryTable<{ ws: number; user_id: string; actions: number }>(
      run,
      `agg/${run.id}_user_actions_1h`,
      `SELECT epoch_ms(window_start)::BIGINT AS ws, user_id, actions::INT AS actions FROM {t} WHERE user_id IN ('u1', 'u7') ORDER BY ws, user_id`,
    );
    expect(windows.length).toBeGreaterThan(8);
    const counts = await queryTable<{ ws: number; user_id: string; actions: number }>(
      run,
      'bronze/activity',
      `SELECT w.ws, e.user_id, count(*)::INT AS actions
       FROM (SELECT DISTINCT unnest([${windows.map((w) => w.ws).join(',')}]) AS ws) w
       JOIN {t} e ON epoch_ms(e.occurred_at) >= w.ws AND epoch_ms(e.occurred_at) < w.ws + ${HOUR}
       WHERE e.user_id IN ('u1', 'u7') AND e.event_id NOT LIKE '%-late%'
       GROUP BY ALL`,
    );
    const expected = new Map(counts.map((c) => [`${c.ws}|${c.user_id}`, c.actions]));
    for (const w of windows) expect([w.ws, w.user_id, w.actions]).toEqual([w.ws, w.user_id, expected.get(`${w.ws}|${w.user_id}`)]);
  });

  it('puts every too-late event on the late topic with its reason, and publishes final windows', async () => {
    const late = await readTopicUntil(kafka, run.lateTopic, {
      filter: (r) => r.value?.stream === `agg_${run.id}_post_engagement_1h`,
      done: (kept) => kept.length >= LATE,
    });
    expect(late.map((r) => r.value!.tracked!.event!.eventId).sort()).toEqual(
      Array.from({ length: LATE }, (_, i) => `${run.id}-late${i}`).sort(),
    );
    expect(late.every((r) => r.value!.reason === etlV1.LateReason.LATE_REASON_WINDOW_CLOSED)).toBe(true);
    expect(timestampToMillis(late[0].value!.watermark!)).toBe(T0 + 4 * HOUR - 2 * MIN);

    const topic = aggregateTopic(`${run.id}_post_engagement_1h`);
    const finals = await readTopicUntil(kafka, topic, { filter: (r) => r.value!.isFinal, done: (kept) => kept.length >= 15 });
    const p1at10 = finals.find((r) => r.key === `${new Date(T0).toISOString()}|post_id=p1`);
    expect(p1at10?.value).toMatchObject({ aggregate: `${run.id}_post_engagement_1h`, groupKey: { post_id: 'p1' }, isFinal: true });
    expect(p1at10!.value!.metrics['impressions']).toBeGreaterThan(0);
  });
});

describe('EtlService', () => {
  it('reports tables and streams with their offsets, lag and watermark', async () => {
    const statusOf = () => app.client.call<etlV1.GetStatusResponse>('GetStatus', {});
    const now = await waitFor(statusOf, (s) => s.streams.every((st) => st.offsets.every((o) => o.lag === 0)));
    const bronze = now.tables.find((t) => t.name === 'activity_bronze')!;
    expect(bronze).toMatchObject({ partitionColumns: ['event_date'], lastOperation: 'STREAMING UPDATE' });
    expect(Number(bronze.fileCount)).toBeGreaterThan(0);
    const aggStream = now.streams.find((s) => s.name === `agg_${run.id}_post_engagement_1h`)!;
    expect(aggStream.state).toBe(etlV1.StreamState.STREAM_STATE_RUNNING);
    expect(timestampToMillis(aggStream.watermark!)).toBe(T0 + 4 * HOUR - 2 * MIN);
    const total = aggStream.offsets.reduce((s, o) => s + Number(o.committedOffset), 0);
    expect(total).toBe(ON_TIME + COPIES + 1 + LATE);
  });

  it('compacts the bronze table into fewer files that delta-rs reads, with time travel to before it', async () => {
    const before = await bronzeCounts(run);
    const compacted = await app.client.call<etlV1.CompactTableResponse>('CompactTable', { table: 'activity_bronze' });
    expect(Number(compacted.filesRemoved)).toBeGreaterThan(Number(compacted.filesAdded));
    expect(await bronzeCounts(run)).toEqual(before);

    const python = execFileSync(join(repo, 'tools/lake/python-env.sh'), { encoding: 'utf8' }).trim();
    const read = (args: string[]) =>
      JSON.parse(
        execFileSync(python, [join(repo, 'tools/lake/delta_rs_read.py'), join(run.lakeRoot, 'bronze/activity'), ...args], {
          encoding: 'utf8',
        }),
      );
    const latest = read([]);
    expect(latest).toMatchObject({ version: Number(compacted.version), rows: before.rows, distinct_event_ids: before.rows, files: 1 });
    expect(latest.history[0].operation).toBe('OPTIMIZE');
    expect(read(['--version', String(Number(compacted.version) - 1)])).toMatchObject({ rows: before.rows });
  });

  it('refuses bad maintenance requests with a reason', async () => {
    const error = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(grpcCode(await error(app.client.call('CompactTable', { table: 'nope' })))).toBe(status.NOT_FOUND);
    const where = await error(app.client.call('CompactTable', { table: 'activity_bronze', where: "user_id = 'u1'" }));
    expect(grpcCode(where)).toBe(status.INVALID_ARGUMENT);
    expect(String((where as Error).message)).toMatch(/not a partition column/);
    expect(grpcCode(await error(app.client.call('CompactTable', { table: 'activity_bronze', zOrderBy: ['user_id'] })))).toBe(
      status.UNIMPLEMENTED,
    );
    const vacuum = await error(app.client.call('VacuumTable', { table: 'activity_bronze', retention: { seconds: 3600 } }));
    expect(grpcCode(vacuum)).toBe(status.INVALID_ARGUMENT);
    const dry = await app.client.call<etlV1.VacuumTableResponse>('VacuumTable', { table: 'activity_bronze', dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, filesDeleted: 0 });
    expect(grpcCode(await error(app.client.call('PauseStream', { stream: 'nope' })))).toBe(status.NOT_FOUND);
  });

  it('pauses a stream after its batch and resumes it from the table', async () => {
    const paused = await app.client.call<etlV1.PauseStreamResponse>('PauseStream', { stream: 'activity_bronze' });
    expect(paused.stream!.state).toBe(etlV1.StreamState.STREAM_STATE_PAUSED);
    const before = await bronzeCounts(run);
    await produce(kafka, run, [tracked(`${run.id}-while-paused`, 'u3', ActivityType.ACTIVITY_TYPE_VIEW, T0 + 4 * HOUR + MIN)]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await bronzeCounts(run)).toEqual(before);
    const resumed = await app.client.call<etlV1.ResumeStreamResponse>('ResumeStream', { stream: 'activity_bronze' });
    expect(resumed.stream!.state).toBe(etlV1.StreamState.STREAM_STATE_RUNNING);
    await waitFor(
      () => bronzeCounts(run),
      (c) => c.rows === before.rows + 1,
    );
  });

  it('backfills closed hours from the bronze table, counting the late events, in one new table version', async () => {
    const refused = await app.client
      .call('StartBackfill', {
        aggregate: `${run.id}_post_engagement_1h`,
        fromTime: millisToTimestamp(T0),
        toTime: millisToTimestamp(T0 + 5 * HOUR),
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(grpcCode(refused)).toBe(status.FAILED_PRECONDITION);
    const session = await app.client
      .call('StartBackfill', {
        aggregate: `${run.id}_user_sessions`,
        fromTime: millisToTimestamp(T0),
        toTime: millisToTimestamp(T0 + HOUR),
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(grpcCode(session)).toBe(status.FAILED_PRECONDITION);

    const started = await app.client.call<etlV1.StartBackfillResponse>('StartBackfill', {
      aggregate: `${run.id}_post_engagement_1h`,
      fromTime: millisToTimestamp(T0),
      toTime: millisToTimestamp(T0 + 2 * HOUR),
      republish: true,
    });
    const job = await waitFor(
      () => app.client.call<etlV1.GetBackfillResponse>('GetBackfill', { jobId: started.job!.id }),
      (r) => r.job!.state !== etlV1.BackfillState.BACKFILL_STATE_PENDING && r.job!.state !== etlV1.BackfillState.BACKFILL_STATE_RUNNING,
    );
    expect(job.job).toMatchObject({ state: etlV1.BackfillState.BACKFILL_STATE_SUCCEEDED, windowsTotal: 10, error: '' });

    const likes = await queryTable<{ ws: number; post_id: string; likes: number; update_count: number }>(
      run,
      `agg/${run.id}_post_engagement_1h`,
      `SELECT epoch_ms(window_start)::BIGINT AS ws, post_id, likes::INT AS likes, update_count FROM {t} WHERE post_id = 'p1' ORDER BY ws`,
    );
    const bronzeLikes = await queryTable<{ ws: number; likes: number }>(
      run,
      'bronze/activity',
      `SELECT epoch_ms(time_bucket(INTERVAL 1 HOUR, occurred_at, TIMESTAMPTZ '2024-01-01 00:00:00+00'))::BIGINT AS ws, count(*)::INT AS likes
       FROM {t} WHERE target_id = 'p1' AND type = 'LIKE' AND occurred_at < TIMESTAMPTZ '2024-06-01 13:00:00+00' GROUP BY ALL ORDER BY ws`,
    );
    // 10:00 and 11:00 recomputed (with the late likes at 10:30), 12:00 untouched by the range.
    expect(likes.map((l) => [l.ws, l.likes])).toEqual(bronzeLikes.map((b) => [b.ws, b.likes]));
    expect(likes[0].update_count).toBeGreaterThan(1);
    const [{ n }] = await queryTable<{ n: number }>(run, `agg/${run.id}_post_engagement_1h`, 'SELECT count(*)::INT AS n FROM {t}');
    expect(n).toBe(15);
  });
});
