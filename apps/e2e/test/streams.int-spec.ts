import { aggregateTopic, featuresV1, ingestV1, millisToTimestamp, Topics } from '@pulse/contracts';
import { grpcClient, PlatformaticKafkaClient, type UnaryClient } from '@pulse/platform';
import { eventually, groupsAtEnd, issueTestApiKey, type ServiceProcess, startService, type TestApiKey } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as PgClient } from 'pg';
import { startFeatureStore } from './support/feature-store';

// Activity as a client sends it becomes a feature a model reads: the built ingest, etl and feature-store
// services as separate processes, sharing one lake directory. TrackEvents → pulse.activity.tracked.v1 →
// etl (bronze table + hourly window per post, final once the watermark passes) → pulse.aggregates.
// post_engagement_1h.v1 → feature-store (online, Redis) → GetOnlineFeatures.
const PG_URL = process.env['PG_URL'] ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse';
const KAFKA_BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:29092';
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:26379';
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const lake = mkdtempSync(join(tmpdir(), `pulse-e2e-lake-${run}-`));
const fsSchema = `e2e_fs_${run}`;
const HOUR = 3_600_000;

let kafka: PlatformaticKafkaClient;
const services: ServiceProcess[] = [];
let key: TestApiKey | undefined;
let ingest: UnaryClient;
let features: UnaryClient;
let etl: UnaryClient;

beforeAll(async () => {
  kafka = new PlatformaticKafkaClient({ brokers: KAFKA_BROKERS.split(','), clientId: `e2e-streams-${run}` });
  const aggregates = ['post_engagement_1h', 'user_actions_1h', 'user_sessions'].map((a) => aggregateTopic(a));
  await kafka.admin.ensureTopics([Topics.activityLate]);
  // Every consumer of this run starts where the shared topics end now.
  const etlGroups = ['activity_bronze', 'agg_post_engagement_1h', 'agg_user_actions_1h', 'agg_user_sessions'].map(
    (s) => `e2e-etl-${run}.${s}`,
  );
  await groupsAtEnd(kafka, etlGroups, [Topics.activityTracked]);
  await groupsAtEnd(kafka, [`e2e-fs-${run}`], aggregates);

  services.push(await startFeatureStore({ schema: fsSchema, lake, redisPrefix: `e2e:${run}:fs:`, group: `e2e-fs-${run}` }));
  services.push(
    await startService('etl', {
      KAFKA_BROKERS,
      LAKE_ROOT: lake,
      ETL_GROUP_PREFIX: `e2e-etl-${run}.`,
      ETL_CDC_TABLES: '',
      ETL_SERVED_TOPIC: '',
      // Windows close as soon as event time passes their end: the test moves event time itself.
      ETL_WATERMARK_DELAY: '0s',
      ETL_ALLOWED_LATENESS: '0s',
      ETL_TRIGGER_INTERVAL: '200ms',
      LAKE_COMPACTION_INTERVAL: '0s',
    }),
  );
  services.push(await startService('ingest', { KAFKA_BROKERS, REDIS_URL, INGEST_DEDUP_KEY_PREFIX: `e2e:${run}:dedup:` }));
  key = await issueTestApiKey({ label: 'e2e', scopes: ['events:write', 'features:read', 'ops:read'], pgUrl: PG_URL });
  const credentials = key.key;
  features = grpcClient(services[0].grpcAddress, 'pulse/features/v1/features_service.proto', 'pulse.features.v1.FeaturesService', {
    credentials,
  });
  etl = grpcClient(services[1].grpcAddress, 'pulse/etl/v1/etl_service.proto', 'pulse.etl.v1.EtlService', { credentials });
  ingest = grpcClient(services[2].grpcAddress, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', { credentials });
}, 240_000);

afterAll(async () => {
  for (const c of [ingest, features, etl]) c?.close();
  for (const s of services.reverse()) await s.stop();
  await key?.remove();
  await kafka?.close();
  const pg = new PgClient({ connectionString: PG_URL });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS ${fsSchema} CASCADE`).catch(() => undefined);
  await pg.end();
  rmSync(lake, { recursive: true, force: true });
}, 120_000);

const { ActivityType, TargetType } = ingestV1;

function event(id: string, type: ingestV1.ActivityType, post: string, at: number) {
  return {
    eventId: `${run}-${id}`,
    userId: `u-${run}-${id}`,
    type,
    target: { type: TargetType.TARGET_TYPE_POST, id: post },
    occurredAt: millisToTimestamp(at),
  };
}

describe('activity to features', () => {
  it('tracked views and likes of a post become its hourly engagement features online, and rows of the lake', async () => {
    const post = `p-${run}`;
    const hourAgo = Date.now() - 90 * 60_000;
    const first = await ingest.call<ingestV1.TrackEventsResponse>('TrackEvents', {
      clientId: 'e2e',
      events: [
        event('v1', ActivityType.ACTIVITY_TYPE_VIEW, post, hourAgo),
        event('v2', ActivityType.ACTIVITY_TYPE_VIEW, post, hourAgo + 1000),
        event('v3', ActivityType.ACTIVITY_TYPE_VIEW, post, hourAgo + 2000),
        event('l1', ActivityType.ACTIVITY_TYPE_LIKE, post, hourAgo + 3000),
        event('l2', ActivityType.ACTIVITY_TYPE_LIKE, post, hourAgo + 4000),
      ],
    });
    expect(first.acceptedCount).toBe(5);
    // Event time moves on: the hour of those events closes.
    await ingest.call('TrackEvents', {
      clientId: 'e2e',
      events: [event('now', ActivityType.ACTIVITY_TYPE_VIEW, `p-${run}-other`, Date.now())],
    });

    const request = {
      entityRows: [{ joinKeys: { post_id: { stringValue: post } } }],
      features: { refs: ['post_engagement_1h:views', 'post_engagement_1h:likes', 'post_engagement_1h:engagements'] },
    };
    const online = await eventually(
      () => features.call<featuresV1.GetOnlineFeaturesResponse>('GetOnlineFeatures', request),
      (r) => r?.rows[0]?.features.every((f) => f.status === featuresV1.FeatureStatus.FEATURE_STATUS_PRESENT) ?? false,
      60_000,
    );
    const [views, likes, engagements] = online.rows[0].features;
    expect(views.status).toBe(featuresV1.FeatureStatus.FEATURE_STATUS_PRESENT);
    expect(Number(views.value?.int64Value ?? views.value?.doubleValue)).toBe(3);
    expect(Number(likes.value?.int64Value ?? likes.value?.doubleValue)).toBe(2);
    expect(Number(engagements.value?.doubleValue ?? engagements.value?.int64Value)).toBe(2);
    const windowEnd = Math.ceil((hourAgo + 1) / HOUR) * HOUR;
    expect(views.eventTimestamp?.seconds).toBe(windowEnd / 1000);

    // The same window is a row of the aggregate's Delta table, and the events rows of the bronze table.
    const status = await etl.call('GetStatus', {});
    const tables = new Map<string, { version: number; fileCount: number }>(status.tables.map((t: { name: string }) => [t.name, t]));
    expect(Number(tables.get('agg_post_engagement_1h')!.fileCount)).toBeGreaterThanOrEqual(1);
    expect(Number(tables.get('activity_bronze')!.fileCount)).toBeGreaterThanOrEqual(1);
  });
});
