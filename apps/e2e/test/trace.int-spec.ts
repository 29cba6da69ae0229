import { aggregateTopic, ingestV1, type logsV1, millisToTimestamp, Topics } from '@pulse/contracts';
import { grpcClient, PlatformaticKafkaClient, type UnaryClient } from '@pulse/platform';
import {
  eventually,
  groupsAtEnd,
  issueTestApiKey,
  type ServiceProcess,
  stackCassandraClient,
  startService,
  type TestApiKey,
} from '@pulse/platform/testing';
import * as grpc from '@grpc/grpc-js';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as PgClient } from 'pg';
import { KAFKA_BROKERS, PG_URL } from './support/app-database';
import { startFeatureStore } from './support/feature-store';

// One event followed as an operator does: found by its id in the log store (ingest ships its lines, the built logs
// service indexes them into the stack's OpenSearch), and from that line's trace id, the whole call in Jaeger: the
// TrackEvents call to the built ingest, its write to pulse.activity.tracked.v1, the storage and etl consumers that
// handled the event, and the feature store's handling of the window update the event made (etl's aggregates carry
// the trace of the event that changed a window), every span exported over OTLP to the stack's Jaeger (tools/stack)
// and read back through its API.
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const keyspace = `trace_${run}`;
const dir = mkdtempSync(join(tmpdir(), `pulse-trace-${run}-`));
const JAEGER_URL = process.env['JAEGER_URL'] ?? 'http://127.0.0.1:26686';
const TRACING_OTLP_URL = process.env['TRACING_OTLP_URL'] ?? 'http://127.0.0.1:24318/v1/traces';
const traced = { TRACING_ENABLED: 'true', TRACING_OTLP_URL, TRACING_SAMPLE_RATIO: '0' };
const groups = { storage: `trace-activity-${run}`, etl: `trace-etl-${run}.`, logs: `trace-logs-${run}`, features: `trace-fs-${run}` };
const fsSchema = `trace_fs_${run}`;
const aggregates = ['post_engagement_1h', 'user_actions_1h', 'user_sessions'];
const OPENSEARCH_URL = process.env['OPENSEARCH_URL'] ?? 'http://127.0.0.1:29200';
const logsIndexPrefix = `test-trace-logs-${run}`;

const services: ServiceProcess[] = [];
let key: TestApiKey;
let ingest: UnaryClient;
let logs: UnaryClient;

interface JaegerTrace {
  spans: { spanID: string; operationName: string; processID: string; references: { refType: string; spanID: string }[] }[];
  processes: Record<string, { serviceName: string }>;
}

async function jaegerTrace(traceId: string): Promise<JaegerTrace | undefined> {
  const response = await fetch(`${JAEGER_URL}/api/traces/${traceId}`);
  if (!response.ok) return undefined;
  return ((await response.json()) as { data: JaegerTrace[] }).data[0];
}

beforeAll(async () => {
  const kafka = new PlatformaticKafkaClient({ brokers: KAFKA_BROKERS.split(','), clientId: `trace-${run}` });
  try {
    // The run's consumer groups start where the shared activity topic ends now.
    const etlGroups = ['activity_bronze', ...aggregates.map((a) => `agg_${a}`)].map((stream) => `${groups.etl}${stream}`);
    await groupsAtEnd(kafka, [groups.storage, ...etlGroups], [Topics.activityTracked]);
    await groupsAtEnd(
      kafka,
      [groups.features],
      aggregates.map((a) => aggregateTopic(a)),
    );
    await groupsAtEnd(kafka, [groups.logs], [Topics.logs]);
  } finally {
    await kafka.close();
  }
  key = await issueTestApiKey({ label: 'trace', scopes: ['events:write', 'ops:read'], pgUrl: PG_URL });
  services.push(
    await startService('ingest', {
      ...traced,
      KAFKA_BROKERS,
      INGEST_DEDUP_KEY_PREFIX: `trace:${run}:`,
      LOG_LEVEL: 'info',
      LOG_SHIPPING_ENABLED: 'true',
      LOG_SHIPPING_BROKERS: KAFKA_BROKERS,
    }),
  );
  const logsService = await startService('logs', {
    KAFKA_BROKERS,
    OPENSEARCH_URL,
    LOGS_CONSUMER_GROUP: groups.logs,
    LOGS_INDEX_PREFIX: logsIndexPrefix,
  });
  services.push(logsService);
  services.push(
    await startService('storage', {
      ...traced,
      KAFKA_BROKERS,
      CASSANDRA_KEYSPACE: keyspace,
      STORAGE_AUTO_MIGRATE: 'true',
      STORAGE_CDC_CONSUMER: 'false',
      STORAGE_ACTIVITY_GROUP: groups.storage,
      MEDIA_ROOT: join(dir, 'media'),
      MEDIA_SWEEPER: 'false',
    }),
  );
  services.push(
    await startService('etl', {
      ...traced,
      KAFKA_BROKERS,
      LAKE_ROOT: join(dir, 'lake'),
      ETL_GROUP_PREFIX: groups.etl,
      ETL_CDC_TABLES: '',
      ETL_SERVED_TOPIC: '',
      ETL_TRIGGER_INTERVAL: '200ms',
      LAKE_COMPACTION_INTERVAL: '0s',
    }),
  );
  services.push(
    await startFeatureStore({
      schema: fsSchema,
      lake: join(dir, 'lake'),
      redisPrefix: `trace:${run}:fs:`,
      group: groups.features,
      env: traced,
    }),
  );
  ingest = grpcClient(services[0].grpcAddress, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', {
    credentials: key.key,
  });
  logs = grpcClient(logsService.grpcAddress, 'pulse/logs/v1/logs_service.proto', 'pulse.logs.v1.LogsService', { credentials: key.key });
}, 300_000);

afterAll(async () => {
  ingest?.close();
  logs?.close();
  for (const s of services.reverse()) await s.stop().catch(() => undefined);
  await key?.remove();
  const cassandra = stackCassandraClient();
  await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).finally(() => cassandra.shutdown());
  const pg = new PgClient({ connectionString: PG_URL });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS ${fsSchema} CASCADE`).finally(() => pg.end());
  rmSync(dir, { recursive: true, force: true });
  const indices = await fetch(`${OPENSEARCH_URL}/_cat/indices/${logsIndexPrefix}-*?format=json&h=index`)
    .then((r) => r.json() as Promise<{ index: string }[]>)
    .catch(() => []);
  for (const { index } of indices) await fetch(`${OPENSEARCH_URL}/${index}`, { method: 'DELETE' }).catch(() => undefined);
}, 120_000);

describe('a trace across services', () => {
  it('finds an event by its id in the log store, and from its line the trace of the call through Kafka to the storage, etl and feature-store consumers', async () => {
    // The caller starts the trace (sampled), as an instrumented client would; the services keep its decision even
    // though they record no trace of their own (TRACING_SAMPLE_RATIO=0).
    const traceId = randomBytes(16).toString('hex');
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`);
    const response = await ingest.call<ingestV1.TrackEventsResponse>(
      'TrackEvents',
      {
        events: [
          {
            eventId: `trace-${run}`,
            userId: `u-trace-${run}`,
            type: ingestV1.ActivityType.ACTIVITY_TYPE_LIKE,
            target: { type: ingestV1.TargetType.TARGET_TYPE_POST, id: `p-trace-${run}` },
            occurredAt: millisToTimestamp(Date.now()),
          },
        ],
      },
      { metadata },
    );
    expect(response.results.map((r) => r.status)).toEqual([ingestV1.EventStatus.EVENT_STATUS_ACCEPTED]);

    // The event by its id in the log store: ingest's line of the call, with the call's trace id.
    const found = await eventually(
      () => logs.call<logsV1.SearchLogsResponse>('SearchLogs', { services: ['ingest'], text: `"trace-${run}"`, limit: 10 }),
      (r) => (r?.lines.length ?? 0) > 0,
      30_000,
    );
    expect(found.lines).toHaveLength(1);
    expect(found.lines[0].message).toBe(`TrackEvents: 1 accepted, 0 duplicate, 0 rejected; events trace-${run}`);
    expect(found.lines[0].traceId).toBe(traceId);

    const consumed = (t: JaegerTrace | undefined, service: string) =>
      t?.spans.some(
        (s) => t.processes[s.processID]?.serviceName === service && s.operationName === `process ${Topics.activityTracked.name}`,
      );
    const featureStoreSpan = (t: JaegerTrace | undefined) =>
      t?.spans.find(
        (s) =>
          t.processes[s.processID]?.serviceName === 'feature-store' &&
          s.operationName === `process ${aggregateTopic('post_engagement_1h').name}`,
      );
    const trace = await eventually(
      () => jaegerTrace(traceId),
      (t) => consumed(t, 'storage') === true && consumed(t, 'etl') === true && featureStoreSpan(t) !== undefined,
      90_000,
    );
    expect(trace).toBeDefined();
    const services = new Set(trace!.spans.map((s) => trace!.processes[s.processID].serviceName));
    expect([...services].sort()).toEqual(expect.arrayContaining(['etl', 'feature-store', 'ingest', 'storage']));
    const byId = new Map(trace!.spans.map((s) => [s.spanID, s]));
    const parentOf = (span: JaegerTrace['spans'][number]) => byId.get(span.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '');
    const server = trace!.spans.find((s) => s.operationName === 'pulse.ingest.v1.IngestService/TrackEvents');
    expect(server).toBeDefined();
    // The consumers' spans hang under ingest's write to the topic, which hangs under the TrackEvents call.
    for (const service of ['storage', 'etl']) {
      const processed = trace!.spans.find(
        (s) => trace!.processes[s.processID].serviceName === service && s.operationName === `process ${Topics.activityTracked.name}`,
      )!;
      const send = parentOf(processed);
      expect(trace!.processes[send!.processID].serviceName).toBe('ingest');
      let up = send;
      while (up && up !== server) up = parentOf(up);
      expect(up).toBe(server);
    }
    // The feature store's handling of the post's window update hangs under etl's handling of the event.
    const windowUpdate = featureStoreSpan(trace)!;
    const aggregated = parentOf(windowUpdate)!;
    expect(trace!.processes[aggregated.processID].serviceName).toBe('etl');
    expect(aggregated.operationName).toBe(`process ${Topics.activityTracked.name}`);
    let up: JaegerTrace['spans'][number] | undefined = aggregated;
    while (up && up !== server) up = parentOf(up);
    expect(up).toBe(server);
  }, 150_000);
});
