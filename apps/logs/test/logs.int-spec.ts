import { Topics } from '@pulse/contracts';
import { grpcClient, hashId, LOGGER, type Logger, PlatformaticKafkaClient, type UnaryClient } from '@pulse/platform';
import { eventually, fuzzProblems, fuzzWithTestKey, groupsAtEnd, issueTestApiKey, type TestApiKey } from '@pulse/platform/testing';
import { context, trace } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import { createApp, type RunningApp } from '../src/app.factory';
import { loadLogsConfig } from '../src/config/logs.config';
import { OpenSearchClient } from '../src/opensearch/opensearch.client';
import { LogStore } from '../src/logs/log-store';

// One run = its own consumer group, index prefix and service name, so runs never collide with each other or with
// the logs of a running platform (the group starts at the topic's end).
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const service = `logs-test-${run}`;
const prefix = `test-logs-${run}`;
const group = `logs-test-${run}`;
const config = loadLogsConfig();
let app: RunningApp;
let client: UnaryClient;
let key: TestApiKey;
let anonymous: UnaryClient;
const store = new OpenSearchClient(config.OPENSEARCH_URL);

beforeAll(async () => {
  const kafka = new PlatformaticKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: group });
  try {
    await groupsAtEnd(kafka, [group], [Topics.logs]);
  } finally {
    await kafka.close();
  }
  app = await createApp({
    SERVICE_NAME: service,
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'info',
    LOG_SHIPPING_ENABLED: 'true',
    TRACING_ENABLED: 'true',
    LOGS_CONSUMER_GROUP: group,
    LOGS_INDEX_PREFIX: prefix,
    LOGS_RETENTION: '2d',
  });
  // An operator's reader: searching the log lines needs ops:read.
  key = await issueTestApiKey({
    label: 'logs',
    scopes: ['ops:read'],
    pgUrl: app.config.PULSE_AUTH_PG_URL,
    schema: app.config.PULSE_AUTH_PG_SCHEMA,
  });
  client = grpcClient(app.grpcAddress, 'pulse/logs/v1/logs_service.proto', 'pulse.logs.v1.LogsService', { credentials: key.key });
  anonymous = grpcClient(app.grpcAddress, 'pulse/logs/v1/logs_service.proto', 'pulse.logs.v1.LogsService');
}, 90_000);

afterAll(async () => {
  client?.close();
  anonymous?.close();
  await app?.close();
  await key?.remove();
  for (const index of await store.indices(`${prefix}-*`).catch(() => [])) await store.deleteIndex(index);
});

const search = (request: Record<string, unknown>) => client.call('SearchLogs', { services: [service], ...request });

describe('logs', () => {
  it('is ready once Kafka and the log store answer', async () => {
    const response = await fetch(`${app.httpUrl}/health/ready`);
    expect(response.status).toBe(200);
  });

  it('makes a line a service logs searchable within a few seconds, with its level, ids and user ids hashed', async () => {
    const logger = app.app.get<Logger>(LOGGER);
    const span = trace.getTracer('test').startSpan('request');
    const written = Date.now();
    context.with(trace.setSpan(context.active(), span), () =>
      logger.warn({ user_id: 'u-secret-42', request_id: `r-${run}`, topic: Topics.logs.name }, `disk almost full ${run}`),
    );
    span.end();
    const found = await eventually(
      () => search({ text: `almost ${run}`, minLevel: 'warn' }),
      (r) => r?.lines?.length === 1,
      10_000,
    );
    const searchable = Date.now() - written;
    expect(found.lines).toHaveLength(1);
    expect(searchable).toBeLessThan(5_000);
    const [line] = found.lines;
    expect(line).toMatchObject({
      service,
      level: 'warn',
      message: `disk almost full ${run}`,
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
      requestId: `r-${run}`,
    });
    expect(line.instance).toMatch(/:\d+$/);
    const fields = JSON.parse(line.fieldsJson);
    expect(fields.user_id).toBe(hashId('u-secret-42', config.LOG_SHIPPING_HASH_KEY));
    expect(line.fieldsJson).not.toContain('u-secret-42');
    expect(fields.topic).toBe(Topics.logs.name);
    // The same line by its trace, and not among the errors.
    const byTrace = await search({ traceId: span.spanContext().traceId });
    expect(byTrace.lines.map((l: { message: string }) => l.message)).toEqual([`disk almost full ${run}`]);
    expect((await search({ text: `almost ${run}`, minLevel: 'error' })).lines).toHaveLength(0);
  });

  it("finds the service's own start-up lines by service and time, newest first", async () => {
    const found = await eventually(
      () => search({ text: 'ready', since: { seconds: Math.floor(Date.now() / 1000) - 600, nanos: 0 } }),
      (r) => r?.lines?.some((l: { message: string }) => l.message === 'service ready'),
      10_000,
    );
    expect(found.lines.map((l: { message: string }) => l.message)).toContain('service ready');
    const times = found.lines.map((l: { time: { seconds: string } }) => Number(l.time.seconds));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('answers only callers with credentials', async () => {
    await expect(anonymous.call('SearchLogs', { services: [service] })).rejects.toMatchObject({ code: 16 });
  });

  it('refuses a malformed search, naming the field', async () => {
    await expect(search({ traceId: 'not-a-trace' })).rejects.toMatchObject({ code: 3, details: expect.stringContaining('trace_id') });
    await expect(search({ minLevel: 'loud' })).rejects.toMatchObject({ code: 3, details: expect.stringContaining('min_level') });
  });

  it('answers generated and malformed requests to every RPC with client errors, never INTERNAL or UNKNOWN, and stays up (tools/fuzz, short)', async () => {
    expect(
      fuzzProblems(
        await fuzzWithTestKey({
          address: app.grpcAddress,
          protoFile: 'pulse/logs/v1/logs_service.proto',
          service: 'pulse.logs.v1.LogsService',
          pgUrl: app.config.PULSE_AUTH_PG_URL,
        }),
      ),
    ).toEqual([]);
  }, 900_000);

  it('deletes whole days past retention and keeps the rest', async () => {
    const old = `${prefix}-2020.01.01`;
    const today = `${prefix}-${new Date().toISOString().slice(0, 10).replaceAll('-', '.')}`;
    await store.bulk([
      JSON.stringify({ index: { _index: old } }),
      JSON.stringify({ '@timestamp': '2020-01-01T00:00:00Z', service, level: 'info' }),
    ]);
    expect(await app.app.get(LogStore).sweep()).toEqual([old]);
    expect(await store.indices(`${prefix}-*`)).toEqual([today]);
    const status = await client.call('GetStatus', {});
    expect(status.retentionMode).toBe('sweeper');
    expect(Number(status.retentionSeconds)).toBe(2 * 86_400);
    expect(Number(status.linesIndexed)).toBeGreaterThan(0);
  });
});
