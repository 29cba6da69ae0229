import { type ShippedLog, Topics } from '@pulse/contracts';
import { freePort, peerEnvPrefix, PlatformaticKafkaClient } from '@pulse/platform';
import { eventually, groupsAtEnd, issueTestApiKey, type ServiceProcess, startService, type TestApiKey } from '@pulse/platform/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

// The log search page, its trace links and the trace page in Chromium: the built logs service (this run's consumer group and index
// prefix, against the stack's Kafka and OpenSearch) and the console. Log lines are shipped to pulse.logs.v1 as a
// service ships them. Pages are saved under tmp/test-results/console/.
const REPO = resolve(__dirname, '../../..');
const SHOTS = join(REPO, 'tmp/test-results/console');
const KAFKA_BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:29092';
const OPENSEARCH_URL = process.env['OPENSEARCH_URL'] ?? 'http://127.0.0.1:29200';
// The stack's trace store (Jaeger): the trace of the error line is sent to it over OTLP, as a service exports spans.
const JAEGER_URL = process.env['JAEGER_URL'] ?? 'http://127.0.0.1:26686';
const TRACING_OTLP_URL = process.env['TRACING_OTLP_URL'] ?? 'http://127.0.0.1:24318/v1/traces';
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const group = `console-logs-${run}`;
const prefix = `test-console-logs-${run}`;
const traceId = randomBytes(16).toString('hex');

const services: ServiceProcess[] = [];
let key: TestApiKey;
let kafka: PlatformaticKafkaClient;
let consoleUrl = '';
let browser: Browser;
let page: Page;

const line = (level: string, msg: string, extra: Partial<ShippedLog> = {}): ShippedLog => ({
  service: 'storage',
  level,
  time: new Date().toISOString(),
  msg,
  instance: `test-${run}:1`,
  ...extra,
});

beforeAll(async () => {
  kafka = new PlatformaticKafkaClient({ brokers: KAFKA_BROKERS.split(','), clientId: group });
  await groupsAtEnd(kafka, [group], [Topics.logs]);
  // The console's own credentials: the log search needs ops:read of the logs service, and nothing more.
  key = await issueTestApiKey({ label: 'console-logs', scopes: ['ops:read'] });
  const logs = await startService('logs', { KAFKA_BROKERS, OPENSEARCH_URL, LOGS_CONSUMER_GROUP: group, LOGS_INDEX_PREFIX: prefix });
  services.push(logs);
  const peers: Record<string, string> = {};
  for (const s of services) {
    peers[`${peerEnvPrefix(s.name)}_GRPC_ADDR`] = s.grpcAddress;
    peers[`${peerEnvPrefix(s.name)}_HTTP_URL`] = s.httpUrl;
  }
  for (const absent of ['INGEST', 'CDC', 'ETL', 'STORAGE', 'FEATURE_STORE', 'RECOMMENDER', 'EXPERIMENTS', 'SIMULATOR']) {
    peers[`${absent}_GRPC_ADDR`] = `127.0.0.1:${await freePort()}`;
    peers[`${absent}_HTTP_URL`] = `http://127.0.0.1:${await freePort()}`;
  }
  const web = await startService('console', { PULSE_API_KEY: key.key, ...peers, JAEGER_URL, CONSOLE_CALL_DEADLINE: '3s' });
  services.push(web);
  consoleUrl = web.httpUrl;

  // Lines as storage would ship them: one error inside a trace, with a request id and its fields; two info lines.
  await kafka.producer.send(Topics.logs, [
    { key: `storage@test-${run}`, value: line('info', `compaction started ${run}`) },
    {
      key: `storage@test-${run}`,
      value: line('error', `write to activity failed ${run}`, {
        trace_id: traceId,
        span_id: randomBytes(8).toString('hex'),
        request_id: `req-${run}`,
        err: { type: 'Error', message: 'Cassandra timeout', stack: 'Error: Cassandra timeout' },
        table: 'activity',
      }),
    },
    { key: `storage@test-${run}`, value: line('info', `compaction finished ${run}`) },
  ]);

  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(services.map((s) => s.stop()));
  await kafka?.close();
  await key?.remove();
  const indices = await fetch(`${OPENSEARCH_URL}/_cat/indices/${prefix}-*?format=json&h=index`)
    .then((r) => r.json() as Promise<{ index: string }[]>)
    .catch(() => []);
  for (const { index } of indices) await fetch(`${OPENSEARCH_URL}/${index}`, { method: 'DELETE' }).catch(() => undefined);
}, 60_000);

const rows = () => page.locator('#log-lines tr.log-line');

/**
 * The error line's trace as services export it over OTLP/HTTP (JSON): ingest's TrackEvents and its Kafka write, storage's
 * consumer of the record and its failed Cassandra write under it.
 */
async function exportTrace(): Promise<void> {
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const ids = ['a', 'b', 'c', 'd'].map(() => randomBytes(8).toString('hex'));
  const span = (i: number, name: string, fromMs: number, toMs: number, parent?: number, failed = false) => ({
    traceId,
    spanId: ids[i],
    ...(parent === undefined ? {} : { parentSpanId: ids[parent] }),
    name,
    kind: 2,
    startTimeUnixNano: String(t0 + BigInt(fromMs) * 1_000_000n),
    endTimeUnixNano: String(t0 + BigInt(toMs) * 1_000_000n),
    status: failed ? { code: 2, message: 'Cassandra timeout' } : { code: 1 },
  });
  const resource = (service: string, spans: unknown[]) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [{ scope: { name: 'console-test' }, spans }],
  });
  const response = await fetch(TRACING_OTLP_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceSpans: [
        resource('ingest', [
          span(0, 'pulse.ingest.v1.IngestService/TrackEvents', 0, 12),
          span(1, 'send pulse.activity.tracked.v1', 2, 6, 0),
        ]),
        resource('storage', [
          span(2, 'process pulse.activity.tracked.v1', 8, 40, 1, true),
          span(3, 'cassandra-driver.execute', 9, 39, 2, true),
        ]),
      ],
    }),
  });
  expect(response.status).toBe(200);
  await eventually(
    () => fetch(`${JAEGER_URL}/api/traces/${traceId}`).then((r) => r.status),
    (status) => status === 200,
    20_000,
  );
}

describe('the log search page', () => {
  it("searches every service's lines by text, then by level, and links a line's trace to its trace page", async () => {
    await exportTrace();
    // The lines are indexed within seconds; the page's results refresh on their own.
    await page.goto(`${consoleUrl}/logs?text=${run}&window=15m`);
    await eventually(
      () => rows().count(),
      (n) => n === 3,
      20_000,
    );
    expect(await rows().count()).toBe(3);
    expect(await page.locator('#log-lines').innerText()).toContain('3 matching lines');
    // Newest first.
    expect(await rows().first().locator('td.message span').innerText()).toBe(`compaction finished ${run}`);

    // The form: errors and above of storage.
    await page.selectOption('select[name="service"]', 'storage');
    await page.selectOption('select[name="level"]', 'error');
    await page.click('form.log-search button[type="submit"]');
    await page.waitForURL(/level=error/);
    await eventually(
      () => rows().count(),
      (n) => n === 1,
      10_000,
    );
    const error = rows().first();
    expect(await error.getAttribute('data-service')).toBe('storage');
    expect(await error.locator('td.level').innerText()).toBe('error');
    expect(await error.locator('td.message span').innerText()).toBe(`write to activity failed ${run}`);
    expect(await error.innerText()).toContain(`req-${run}`);
    await error.locator('details summary').click();
    expect(await error.locator('details pre').innerText()).toContain('Cassandra timeout');
    // Its trace: a link to the trace page, and a link to every line of that trace.
    expect(await error.locator('a.trace').getAttribute('href')).toBe(`/traces/${traceId}`);
    await page.screenshot({ path: join(SHOTS, 'logs.png'), fullPage: true });
    await error.locator('a.trace').click();
    await page.waitForURL(new RegExp(`/traces/${traceId}$`));
    // The waterfall: each span under its parent, across the two services, the failed ones marked.
    const spans = page.locator('#trace tr.span');
    expect(await spans.count()).toBe(4);
    const shown = await spans.evaluateAll((trs) =>
      trs.map((tr) => [
        tr.children[0].textContent?.trim(),
        tr.children[1].textContent?.trim(),
        tr.getAttribute('data-depth'),
        tr.classList.contains('failed'),
      ]),
    );
    expect(shown).toEqual([
      ['ingest', 'pulse.ingest.v1.IngestService/TrackEvents', '0', false],
      ['ingest', 'send pulse.activity.tracked.v1', '1', false],
      ['storage', 'process pulse.activity.tracked.v1', '2', true],
      ['storage', 'cassandra-driver.execute', '3', true],
    ]);
    expect(await page.locator('#trace').innerText()).toContain('4 spans in 2 services (ingest, storage), 40.0 ms');
    await page.screenshot({ path: join(SHOTS, 'trace.png'), fullPage: true });
    await page.goto(`${consoleUrl}/traces/${randomBytes(16).toString('hex')}`);
    expect(await page.locator('#trace').innerText()).toContain('not sampled, or older than the traces it keeps');
    await page.goBack();
    await page.goBack();
    await page.waitForURL(/level=error/);
    await error.locator('a.trace-lines').click();
    await page.waitForURL(new RegExp(`trace=${traceId}`));
    await eventually(
      () => rows().count(),
      (n) => n === 1,
      10_000,
    );
    expect(await page.inputValue('input[name="trace"]')).toBe(traceId);

    // Nothing at fatal.
    await page.goto(`${consoleUrl}/logs?text=${run}&level=fatal`);
    expect(await page.locator('#log-lines').innerText()).toContain('no line matches');
  });

  it('says when the logs service does not answer, and keeps the page', async () => {
    await services[0].stop();
    await page.goto(`${consoleUrl}/logs?text=${run}`);
    expect(await page.locator('#log-lines [data-unreachable="logs"]').innerText()).toContain('logs unreachable');
  });
});
