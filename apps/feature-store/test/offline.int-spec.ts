import { status } from '@grpc/grpc-js';
import { featuresV1, timestampToMillis } from '@pulse/contracts';
import { DeltaTable, LocalLakeStorage } from '@pulse/lake';
import { type UnaryClient } from '@pulse/platform';
import { eventually } from '@pulse/platform/testing';
import { mkdirSync } from 'node:fs';
import { Client } from 'pg';
import { join } from 'node:path';
import { duck, FeatureStoreWorld, stackConfig, str, ts } from './feature-store-test-app';

const { FeatureStatus, JobState } = featuresV1;

const REPO = `
project: pulse
entities:
  - { name: user, join_key: user_id }
feature_views:
  - name: user_clicks
    entities: [user]
    ttl: 1h
    source: { name: clicks_table, type: delta, location: tables/clicks, timestamp_field: event_timestamp, created_timestamp_field: created }
    features:
      - { name: clicks, type: int64 }
  - name: user_country
    entities: [user]
    ttl: 0s
    online: false
    source: { name: country_files, type: file, location: sources/country.parquet, timestamp_field: ts }
    features:
      - { name: country, type: string }
  - name: user_score
    entities: [user]
    ttl: 1d
    source: { name: score_files, type: file, location: sources/score, timestamp_field: event_timestamp }
    features:
      - { name: score, type: double }
      - { name: segment, type: string }
  - name: user_profile
    entities: [user]
    ttl: 30d
    source:
      name: profile_push
      type: push
      batch_source: { type: delta, location: tables/user_profile, timestamp_field: event_timestamp, created_timestamp_field: created_timestamp }
    features:
      - { name: followers, type: int64 }
      - { name: locale, type: string }
  - name: user_locale
    entities: [user]
    ttl: 30d
    source:
      name: profile_push
      type: push
      batch_source: { type: delta, location: tables/user_profile, timestamp_field: event_timestamp, created_timestamp_field: created_timestamp }
    features:
      - { name: locale, type: string }
`;

// Four source rows per pass: larger sources here (clicks, scores) are processed in passes over entity partitions, smaller ones in one.
const world = new FeatureStoreWorld({
  FEATURE_STORE_JOB_STALE: '3s',
  FEATURE_STORE_OFFLINE_PARTITION_ROWS: '4',
  FEATURE_STORE_ENTITY_QUERY_TIMEOUT: '2s',
});
let client: UnaryClient;

beforeAll(async () => {
  world.writeRepo({ 'repo.yaml': REPO });
  expect((await world.registry('apply')).exitCode).toBe(0);
  client = await world.start();
});

afterAll(() => world.dispose());

const lake = (path: string) => join(world.lakeRoot, path);

async function writeParquet(path: string, select: string): Promise<void> {
  mkdirSync(join(lake(path), '..'), { recursive: true });
  await duck(`COPY (${select}) TO '${lake(path)}' (FORMAT parquet)`);
}

const finished = (job: { state: featuresV1.JobState } | undefined) =>
  job?.state === JobState.JOB_STATE_SUCCEEDED || job?.state === JobState.JOB_STATE_FAILED;

async function retrievalDone(jobId: string): Promise<featuresV1.RetrievalJob> {
  const r = await eventually(
    () => client.call<featuresV1.GetRetrievalJobResponse>('GetRetrievalJob', { jobId }),
    (s) => finished(s?.job),
    30_000,
  );
  return r.job!;
}

async function materialize(request: Record<string, unknown>): Promise<featuresV1.MaterializationJob> {
  const { job } = await client.call<featuresV1.MaterializeResponse>('Materialize', request);
  const r = await eventually(
    () => client.call<featuresV1.GetMaterializationStatusResponse>('GetMaterializationStatus', { jobId: job!.id }),
    (s) => finished(s?.job),
    30_000,
  );
  return r.job!;
}

const T = (hhmmss: string) => `TIMESTAMP '2026-11-20 ${hhmmss}'`;

describe('historical retrieval', () => {
  it('builds a point-in-time-correct training set: latest value at or before each row, within ttl, ties by created time, never from the future', async () => {
    // The clicks timeline is a Delta table of the lake, written in two commits.
    const clicks = await DeltaTable.create(new LocalLakeStorage(world.lakeRoot), 'tables/clicks', {
      columns: [
        { name: 'user_id', type: 'string' },
        { name: 'event_timestamp', type: 'timestamp' },
        { name: 'created', type: 'timestamp' },
        { name: 'clicks', type: 'long' },
      ],
    });
    const at = (hhmmss: string) => `2026-11-20T${hhmmss}Z`;
    await clicks.append([
      { user_id: 'u1', event_timestamp: at('10:00:00'), created: at('10:00:00'), clicks: 1 },
      { user_id: 'u1', event_timestamp: at('10:30:00'), created: at('10:31:00'), clicks: 2 },
      { user_id: 'u1', event_timestamp: at('10:30:00'), created: at('10:45:00'), clicks: 3 },
      { user_id: 'u2', event_timestamp: at('09:00:00'), created: at('09:00:00'), clicks: 10 },
    ]);
    await clicks.append([{ user_id: 'u1', event_timestamp: at('11:00:00'), created: at('11:00:00'), clicks: 4 }]);
    await writeParquet(
      'sources/country.parquet',
      `SELECT * FROM (VALUES ('u1', ${T('08:00:00')}, 'de'), ('u1', ${T('10:35:00')}, 'fr'), ('u2', TIMESTAMP '2026-01-01 00:00:00', 'us')) t(user_id, ts, country)`,
    );
    await writeParquet(
      'entities/rows.parquet',
      `SELECT * FROM (VALUES
        ('u1', ${T('09:59:00')}, 0),
        ('u1', ${T('10:00:00')}, 1),
        ('u1', ${T('10:40:00')}, 2),
        ('u1', ${T('10:59:59')}, 3),
        ('u1', ${T('11:00:00')}, 4),
        ('u2', ${T('09:30:00')}, 5),
        ('u2', ${T('10:00:00')}, 6),
        ('u2', ${T('10:00:01')}, 7),
        ('u3', ${T('10:00:00')}, 8),
        ('u1', ${T('10:40:00')}, 9)
      ) t(user_id, event_timestamp, label)`,
    );

    const { job } = await client.call<featuresV1.GetHistoricalFeaturesResponse>('GetHistoricalFeatures', {
      entityPath: 'entities/rows.parquet',
      features: { refs: ['user_clicks:clicks', 'user_country:country'] },
      outputPath: 'training/set-1.parquet',
    });
    const done = await retrievalDone(job!.id);
    expect(done).toMatchObject({ state: JobState.JOB_STATE_SUCCEEDED, rowCount: 10, outputPath: 'training/set-1.parquet', error: '' });

    const rows = await duck<{ user_id: string; event_timestamp: Date; label: number; clicks: bigint | null; country: string | null }>(
      `SELECT * FROM read_parquet('${lake('training/set-1.parquet')}')`,
    );
    const t = (hhmmss: string) => new Date(`2026-11-20T${hhmmss}Z`);
    expect(rows).toEqual([
      { user_id: 'u1', event_timestamp: t('09:59:00'), label: 0, clicks: null, country: 'de' }, // before the first click row
      { user_id: 'u1', event_timestamp: t('10:00:00'), label: 1, clicks: 1n, country: 'de' }, // at exactly its event time
      { user_id: 'u1', event_timestamp: t('10:40:00'), label: 2, clicks: 3n, country: 'fr' }, // tie at 10:30: latest created wins
      { user_id: 'u1', event_timestamp: t('10:59:59'), label: 3, clicks: 3n, country: 'fr' }, // 11:00 is in the future
      { user_id: 'u1', event_timestamp: t('11:00:00'), label: 4, clicks: 4n, country: 'fr' },
      { user_id: 'u2', event_timestamp: t('09:30:00'), label: 5, clicks: 10n, country: 'us' },
      { user_id: 'u2', event_timestamp: t('10:00:00'), label: 6, clicks: 10n, country: 'us' }, // exactly ttl old: still in
      { user_id: 'u2', event_timestamp: t('10:00:01'), label: 7, clicks: null, country: 'us' }, // older than the 1 h ttl; country has none
      { user_id: 'u3', event_timestamp: t('10:00:00'), label: 8, clicks: null, country: null },
      { user_id: 'u1', event_timestamp: t('10:40:00'), label: 9, clicks: 3n, country: 'fr' }, // duplicates keep their place
    ]);
  });

  it('takes the entity frame from a query over the offline store, with full feature names', async () => {
    const { job } = await client.call<featuresV1.GetHistoricalFeaturesResponse>('GetHistoricalFeatures', {
      entityQuery: `SELECT user_id, ts AS at FROM user_country WHERE country = 'fr'`,
      features: { refs: ['user_clicks:clicks'] },
      outputPath: 'training/set-2.parquet',
      eventTimestampColumn: 'at',
      fullFeatureNames: true,
    });
    expect(await retrievalDone(job!.id)).toMatchObject({ state: JobState.JOB_STATE_SUCCEEDED, rowCount: 1 });
    const rows = await duck(`SELECT * FROM read_parquet('${lake('training/set-2.parquet')}')`);
    expect(rows).toEqual([{ user_id: 'u1', at: new Date('2026-11-20T10:35:00Z'), user_clicks__clicks: 3n }]);
  });

  it('reads the entity frame from a CSV file', async () => {
    mkdirSync(lake('entities'), { recursive: true });
    await duck(
      `COPY (SELECT 'u1' AS user_id, TIMESTAMP '2026-11-20 10:40:00' AS event_timestamp UNION ALL SELECT 'u2', TIMESTAMP '2026-11-20 09:30:00') TO '${lake('entities/rows.csv')}' (FORMAT csv, HEADER)`,
    );
    const { job } = await client.call<featuresV1.GetHistoricalFeaturesResponse>('GetHistoricalFeatures', {
      entityPath: 'entities/rows.csv',
      features: { refs: ['user_clicks:clicks'] },
      outputPath: 'training/from-csv.parquet',
    });
    expect(await retrievalDone(job!.id)).toMatchObject({ state: JobState.JOB_STATE_SUCCEEDED, rowCount: 2 });
    const rows = await duck<{ user_id: string; clicks: bigint }>(
      `SELECT user_id, clicks FROM read_parquet('${lake('training/from-csv.parquet')}')`,
    );
    expect(rows).toEqual([
      { user_id: 'u1', clicks: 3n },
      { user_id: 'u2', clicks: 10n },
    ]);
  });

  it('refuses an existing output, a path outside the lake and an unknown entity file', async () => {
    const base = { features: { refs: ['user_clicks:clicks'] }, entityPath: 'entities/rows.parquet' };
    await expect(client.call('GetHistoricalFeatures', { ...base, outputPath: 'training/set-1.parquet' })).rejects.toMatchObject({
      code: status.ALREADY_EXISTS,
    });
    await expect(client.call('GetHistoricalFeatures', { ...base, outputPath: '../escape.parquet' })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
    await expect(
      client.call('GetHistoricalFeatures', { ...base, entityPath: 'entities/none.parquet', outputPath: 'x.parquet' }),
    ).rejects.toMatchObject({
      code: status.NOT_FOUND,
    });
    const { job } = await client.call<featuresV1.GetHistoricalFeaturesResponse>('GetHistoricalFeatures', {
      entityQuery: `SELECT 'u1' AS member, now() AS event_timestamp`,
      features: { refs: ['user_clicks:clicks'] },
      outputPath: 'training/bad.parquet',
    });
    const failed = await retrievalDone(job!.id);
    expect(failed.state).toBe(JobState.JOB_STATE_FAILED);
    expect(failed.error).toMatch(/no column "user_id"/);
  });
});

describe('entity_query sandbox', () => {
  const retrieve = (entityQuery: string, outputPath: string) =>
    client.call<featuresV1.GetHistoricalFeaturesResponse>('GetHistoricalFeatures', {
      entityQuery,
      features: { refs: ['user_clicks:clicks'] },
      outputPath,
    });

  it("cannot read files outside the lake: the service's environment stays out of the training set and of the error", async () => {
    const { job } = await retrieve(
      `SELECT content AS user_id, now() AS event_timestamp FROM read_text('/proc/self/environ')`,
      'training/environ.parquet',
    );
    const failed = await retrievalDone(job!.id);
    expect(failed.state).toBe(JobState.JOB_STATE_FAILED);
    expect(failed.error).toMatch(/^entity_query failed: .*Permission Error: Cannot access file "<path>"/);
    expect(failed.error).not.toMatch(/environ|PG_URL|pulse:pulse/);
    await expect(duck(`SELECT * FROM read_parquet('${lake('training/environ.parquet')}')`)).rejects.toThrow();
  });

  it('refuses anything but one SELECT statement before a job starts, naming the problem', async () => {
    for (const query of [
      `SELECT 'u1' AS user_id, now() AS event_timestamp; SELECT 1`,
      `SET enable_external_access = true`,
      `COPY (SELECT 1) TO '${lake('escape.csv')}'`,
      `ATTACH '${lake('other.db')}' AS other`,
      `SELECT 'u1' AS user_id, now() AS event_timestamp FROM (SELECT 1`,
    ]) {
      await expect(retrieve(query, 'training/refused.parquet')).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: expect.stringMatching(/entity_query.*one SELECT statement/),
      });
    }
  });

  it('interrupts a query that runs past its time limit', async () => {
    const started = Date.now();
    const { job } = await retrieve(
      `SELECT 'u1' AS user_id, now() AS event_timestamp, count(*) AS n FROM range(1000000000000)`,
      'training/slow.parquet',
    );
    const failed = await retrievalDone(job!.id);
    expect(failed).toMatchObject({ state: JobState.JOB_STATE_FAILED, error: 'entity_query ran longer than 2000 ms' });
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("reports errors without this host's file paths", async () => {
    const { job } = await retrieve(
      `SELECT * FROM read_parquet('${lake('sources/none.parquet')}'), read_parquet('/var/lib/none.parquet')`,
      'training/missing.parquet',
    );
    const failed = await retrievalDone(job!.id);
    expect(failed.state).toBe(JobState.JOB_STATE_FAILED);
    expect(failed.error).toMatch(/^entity_query failed: .*sources\/none\.parquet/);
    expect(failed.error).not.toContain(world.lakeRoot);
    expect(failed.error).not.toContain('/var/lib');
  });
});

describe('push to the offline store', () => {
  it("appends pushed rows to the view's Delta table, readable in a training set and by materialisation", async () => {
    const now = Date.now();
    const row = (u: string, at: number, followers: number) => ({
      joinKeys: { user_id: str(u) },
      features: { followers: { int64Value: followers }, locale: str('de') },
      eventTimestamp: ts(at),
    });
    const offline = await client.call<featuresV1.PushResponse>('Push', {
      pushSource: 'profile_push',
      rows: [row('p1', now - 60_000, 10), row('p2', now - 60_000, 20)],
      mode: featuresV1.PushMode.PUSH_MODE_OFFLINE,
    });
    expect(offline).toEqual({ onlineRows: 0, offlineRows: 2 });
    const both = await client.call<featuresV1.PushResponse>('Push', {
      pushSource: 'profile_push',
      rows: [row('p1', now - 30_000, 11)],
      mode: featuresV1.PushMode.PUSH_MODE_ONLINE_AND_OFFLINE,
    });
    expect(both).toEqual({ onlineRows: 1, offlineRows: 1 });
    // Both views of the push source share one table: one commit per request (after the create), not one per view.
    const table = await DeltaTable.open(new LocalLakeStorage(world.lakeRoot), 'tables/user_profile');
    expect(table.snapshot().version).toBe(2);
    expect(table.snapshot().schema.map((c) => c.name)).toEqual(['user_id', 'event_timestamp', 'created_timestamp', 'locale', 'followers']);

    await writeParquet(
      'entities/profile.parquet',
      `SELECT * FROM (VALUES ('p1', make_timestamp(${(now - 45_000) * 1000})), ('p1', make_timestamp(${now * 1000})), ('p2', make_timestamp(${now * 1000}))) t(user_id, event_timestamp)`,
    );
    const { job } = await client.call<featuresV1.GetHistoricalFeaturesResponse>('GetHistoricalFeatures', {
      entityPath: 'entities/profile.parquet',
      featureService: '',
      features: { refs: ['user_profile:followers'] },
      outputPath: 'training/profile.parquet',
    });
    expect(await retrievalDone(job!.id)).toMatchObject({ state: JobState.JOB_STATE_SUCCEEDED, rowCount: 3 });
    const rows = await duck<{ followers: bigint }>(`SELECT followers FROM read_parquet('${lake('training/profile.parquet')}')`);
    expect(rows.map((r) => r.followers)).toEqual([10n, 11n, 20n]);

    // p2 reached only the offline store: materialisation brings it online, p1 is already there.
    const mat = await materialize({ featureViews: ['user_profile'] });
    expect(mat.views[0]).toMatchObject({ rowsWritten: 1, entitiesScanned: 2, entitiesUnchanged: 1 });
  });
});

describe('materialisation of a Delta source', () => {
  it('picks up rows that landed late, behind the time watermark, and only the entities they touch', async () => {
    const view = (await client.call<featuresV1.GetFeatureViewResponse>('GetFeatureView', { name: 'user_profile' })).featureView!;
    const watermarkMs = Number(view.materializedUntil!.seconds) * 1000;
    const before = await client.call<featuresV1.GetOnlineFeaturesResponse>('GetOnlineFeatures', {
      entityRows: [{ joinKeys: { user_id: str('p1') } }, { joinKeys: { user_id: str('p2') } }],
      features: { refs: ['user_profile:followers'] },
    });
    const [p1At, p2At] = before.rows.map((r) => timestampToMillis(r.features[0].eventTimestamp!));
    expect(p2At).toBeLessThan(watermarkMs - 5000);
    // A late row of p2 (newer than its online value, older than the watermark) and an old row of p1.
    await client.call('Push', {
      pushSource: 'profile_push',
      mode: featuresV1.PushMode.PUSH_MODE_OFFLINE,
      rows: [
        {
          joinKeys: { user_id: str('p2') },
          features: { followers: { int64Value: 21 }, locale: str('de') },
          eventTimestamp: ts(p2At + 5000),
        },
        {
          joinKeys: { user_id: str('p1') },
          features: { followers: { int64Value: 9 }, locale: str('de') },
          eventTimestamp: ts(p1At - 5000),
        },
      ],
    });
    const run = await materialize({ featureViews: ['user_profile'] });
    expect(run.views[0]).toMatchObject({ rowsWritten: 1, entitiesScanned: 2, entitiesUnchanged: 1 });
    const after = await client.call<featuresV1.GetOnlineFeaturesResponse>('GetOnlineFeatures', {
      entityRows: [{ joinKeys: { user_id: str('p1') } }, { joinKeys: { user_id: str('p2') } }],
      features: { refs: ['user_profile:followers'] },
    });
    expect(after.rows.map((r) => r.features[0].value!.int64Value)).toEqual([11, 21]);
  });
});

describe('materialisation', () => {
  const scoreRows = (rows: [string, number, number, string][]) =>
    `SELECT * FROM (VALUES ${rows.map(([u, at, s, seg]) => `('${u}', make_timestamp(${at * 1000}), ${s}::DOUBLE, '${seg}')`).join(', ')}) t(user_id, event_timestamp, score, segment)`;
  const online = async (users: string[]) => {
    const r = await client.call<featuresV1.GetOnlineFeaturesResponse>('GetOnlineFeatures', {
      entityRows: users.map((u) => ({ joinKeys: { user_id: str(u) } })),
      features: { refs: ['user_score:score', 'user_score:segment'] },
    });
    return r.rows.map((row) =>
      row.features[0].status === FeatureStatus.FEATURE_STATUS_PRESENT ? row.features[0].value!.doubleValue : null,
    );
  };

  it('copies the latest row per entity online, then incrementally writes only the entities that changed', async () => {
    const now = Date.now();
    // Five users, two rows each for u1 (the later one counts), one row outside the 1 d ttl window (never materialised).
    await writeParquet(
      'sources/score/part-0.parquet',
      scoreRows([
        ['m1', now - 3 * 3_600_000, 0.1, 'a'],
        ['m1', now - 2 * 3_600_000, 0.2, 'a'],
        ['m2', now - 2 * 3_600_000, 0.3, 'b'],
        ['m3', now - 2 * 3_600_000, 0.4, 'b'],
        ['m4', now - 2 * 3_600_000, 0.5, 'c'],
        ['m5', now - 2 * 3_600_000, 0.6, 'c'],
        ['m6', now - 3 * 86_400_000, 0.7, 'old'],
      ]),
    );
    const first = await materialize({ featureViews: ['user_score'] });
    expect(first.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(first.views[0]).toMatchObject({ featureView: 'user_score', rowsWritten: 5, entitiesScanned: 5, entitiesUnchanged: 0 });
    expect(await online(['m1', 'm2', 'm3', 'm4', 'm5', 'm6'])).toEqual([0.2, 0.3, 0.4, 0.5, 0.6, null]);
    const { featureView } = await client.call<featuresV1.GetFeatureViewResponse>('GetFeatureView', { name: 'user_score' });
    expect(featureView!.materializedUntil).toEqual(first.views[0].endTime);

    // New rows after the watermark for two users: the incremental run reads and writes only them.
    await new Promise((r) => setTimeout(r, 20));
    const later = Date.now() - 5;
    await writeParquet(
      'sources/score/part-1.parquet',
      scoreRows([
        ['m2', later, 0.35, 'b'],
        ['m4', later, 0.55, 'c'],
      ]),
    );
    const second = await materialize({});
    expect(second.views.map((v) => [v.featureView, Number(v.rowsWritten), Number(v.entitiesScanned)])).toEqual([
      ['user_clicks', 0, 0],
      // Never materialised before: its first run reads its ttl window; p2 was pushed offline only.
      ['user_locale', 1, 2],
      ['user_profile', 0, 0],
      ['user_score', 2, 2],
    ]);
    expect(await online(['m1', 'm2', 'm3', 'm4', 'm5'])).toEqual([0.2, 0.35, 0.4, 0.55, 0.6]);

    // The whole range again: everything is already online, nothing is written.
    const again = await materialize({ featureViews: ['user_score'], startTime: ts(now - 86_400_000), endTime: ts(Date.now()) });
    expect(again.views[0]).toMatchObject({ rowsWritten: 0, entitiesScanned: 5, entitiesUnchanged: 5 });
  });

  it('materialises a subset of entities without moving the watermark, and never overwrites a newer pushed value', async () => {
    const before = (await client.call<featuresV1.GetFeatureViewResponse>('GetFeatureView', { name: 'user_score' })).featureView!
      .materializedUntil;
    const now = Date.now();
    await writeParquet(
      'sources/score/part-2.parquet',
      scoreRows([
        ['m1', now - 1000, 0.9, 'z'],
        ['m3', now - 1000, 0.8, 'z'],
        ['m5', now - 1000, 0.95, 'z'],
      ]),
    );
    // m5 got a fresher value by Push in the meantime.
    await client.call('Push', {
      featureView: 'user_score',
      rows: [
        { joinKeys: { user_id: str('m5') }, features: { score: { doubleValue: 0.99 }, segment: str('push') }, eventTimestamp: ts(now) },
      ],
    });
    const subset = await materialize({
      featureViews: ['user_score'],
      startTime: ts(now - 60_000),
      entityRows: [{ joinKeys: { user_id: str('m1') } }, { joinKeys: { user_id: str('m5') } }],
    });
    expect(subset.views[0]).toMatchObject({ rowsWritten: 1, entitiesScanned: 2, entitiesSuperseded: 1 });
    expect(await online(['m1', 'm3', 'm5'])).toEqual([0.9, 0.4, 0.99]);
    const after = (await client.call<featuresV1.GetFeatureViewResponse>('GetFeatureView', { name: 'user_score' })).featureView!
      .materializedUntil;
    expect(after).toEqual(before);
  });

  it('refuses views that are not online and a start after the end', async () => {
    await expect(client.call('Materialize', { featureViews: ['user_country'] })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(client.call('Materialize', { featureViews: ['nope'] })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(client.call('Materialize', { startTime: ts(Date.now() - 1000), endTime: ts(Date.now() - 2000) })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
    await expect(client.call('GetMaterializationStatus', { jobId: 'mat-nope' })).rejects.toMatchObject({ code: status.NOT_FOUND });
  });
});

describe('jobs', () => {
  it('reports a job FAILED once the replica running it stopped sending heartbeats', async () => {
    const pg = new Client({ connectionString: stackConfig.PG_URL });
    await pg.connect();
    try {
      // A job some replica took and then died with: RUNNING, last heartbeat a minute ago.
      await pg.query(
        `INSERT INTO "${world.schema}".jobs (id, project, kind, state, request, progress, started_at, heartbeat_at)
         VALUES ('mat-orphan', 'pulse', 'materialization', 'RUNNING', '{"views":["user_score"],"endMs":0,"entityRows":[],"registryVersion":1}', '[]', now() - interval '1 minute', now() - interval '1 minute')`,
      );
    } finally {
      await pg.end();
    }
    const { job } = await client.call<featuresV1.GetMaterializationStatusResponse>('GetMaterializationStatus', { jobId: 'mat-orphan' });
    expect(job!.state).toBe(JobState.JOB_STATE_FAILED);
    expect(job!.error).toMatch(/no heartbeat from the replica running this job for 6\d s/);
  });
});
