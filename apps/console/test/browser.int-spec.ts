import { featuresV1, ingestV1, millisToTimestamp, storageV1, Topics } from '@pulse/contracts';
import { freePort, grpcClient, peerEnvPrefix, PlatformaticKafkaClient, type UnaryClient } from '@pulse/platform';
import {
  eventually,
  groupsAtEnd,
  issueTestApiKey,
  runBuilt,
  type ServiceProcess,
  stackCassandraClient,
  startService,
  type TestApiKey,
} from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client as PgClient } from 'pg';
import { type Browser, chromium, type Page } from 'playwright-core';

// The console in Chromium against the built services, started as processes on free ports with this run's own
// keyspace, schema, key prefixes, consumer groups, lake and model registry. cdc is not started: the console must
// show it unreachable and everything else working. Each page is saved as a PNG under tmp/test-results/console/.
const REPO = resolve(__dirname, '../../..');
const SHOTS = join(REPO, 'tmp/test-results/console');
const KAFKA_BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:29092';
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:26379';
const PG_URL = process.env['PG_URL'] ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse';
const CASSANDRA = process.env['CASSANDRA_CONTACT_POINTS'] ?? '127.0.0.1:29042';
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const dir = mkdtempSync(join(tmpdir(), `pulse-console-${run}-`));
const keyspace = `console_${run}`;
const fsSchema = `console_fs_${run}`;
const user = `user-${run}-1`;
const follower = `user-${run}-2`;

const services = new Map<string, ServiceProcess>();
let consoleUrl = '';
let cdcAddress = '';
let kafka: PlatformaticKafkaClient;
let ingest: UnaryClient;
let storage: UnaryClient;
let browser: Browser;
let page: Page;
// The operator's key: the console's own PULSE_API_KEY, and every service's for its calls to peers.
let key: TestApiKey;

/** MovieLens-style ratings: 30 users, 40 posts, the low-numbered posts the most popular. */
function ratingsCsv(): string {
  const lines = ['userId,movieId,rating,timestamp'];
  for (let u = 0; u < 30; u++) {
    for (let k = 0; k < 8; k++) lines.push(`user-${run}-${u},post-${(u * 3 + k * k) % 40},${1 + (k % 5)},${1_700_000_000 + u * 100 + k}`);
  }
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  kafka = new PlatformaticKafkaClient({ brokers: KAFKA_BROKERS.split(','), clientId: `console-test-${run}` });
  await kafka.admin.ensureTopics([Topics.activityLate]);
  // This run's consumers start where the shared activity topic ends now.
  await groupsAtEnd(kafka, [`console-storage-${run}`, `console-etl-${run}.activity_bronze`], [Topics.activityTracked]);

  key = await issueTestApiKey({ label: 'console', pgUrl: PG_URL });
  const PULSE_API_KEY = key.key;
  const models = join(dir, 'models');
  writeFileSync(join(dir, 'ratings.csv'), ratingsCsv());
  const fsEnv = {
    PULSE_API_KEY,
    KAFKA_BROKERS,
    REDIS_URL,
    PG_URL,
    LAKE_ROOT: join(dir, 'lake'),
    FEATURE_STORE_PG_SCHEMA: fsSchema,
    FEATURE_STORE_AUTO_MIGRATE: 'true',
    FEATURE_STORE_REPO_DIR: join(REPO, 'feature_repo'),
    FEATURE_STORE_REDIS_PREFIX: `console:${run}:fs:`,
    FEATURE_STORE_AGGREGATES_CONSUMER: 'false',
  };
  await Promise.all([
    runBuilt('recommender', 'recs.js', {}, ['train', join(dir, 'ratings.csv'), '--model', 'itempop', '--models-dir', models, '--promote']),
    runBuilt('feature-store', 'migrate.js', fsEnv).then(() => runBuilt('feature-store', 'registry-cli.js', fsEnv, ['apply'])),
  ]);
  const started = await Promise.all([
    startService('ingest', { PULSE_API_KEY, KAFKA_BROKERS, REDIS_URL, INGEST_DEDUP_KEY_PREFIX: `console:${run}:dedup:` }),
    startService('storage', {
      PULSE_API_KEY,
      KAFKA_BROKERS,
      CASSANDRA_CONTACT_POINTS: CASSANDRA,
      CASSANDRA_KEYSPACE: keyspace,
      STORAGE_AUTO_MIGRATE: 'true',
      STORAGE_CDC_CONSUMER: 'false',
      STORAGE_ACTIVITY_GROUP: `console-storage-${run}`,
      MEDIA_ROOT: join(dir, 'media'),
      MEDIA_ARCHIVE_ROOT: join(dir, 'archive'),
    }),
    startService('etl', {
      PULSE_API_KEY,
      KAFKA_BROKERS,
      LAKE_ROOT: join(dir, 'lake'),
      ETL_GROUP_PREFIX: `console-etl-${run}.`,
      ETL_AGGREGATE_STREAMS: 'false',
      ETL_TRIGGER_INTERVAL: '300ms',
      LAKE_COMPACTION_INTERVAL: '0s',
    }),
    startService('feature-store', fsEnv),
  ]);
  for (const s of started) services.set(s.name, s);
  // The recommender asks storage and the feature store for people a user may know.
  started.push(
    await startService('recommender', {
      PULSE_API_KEY,
      RECS_MODELS_DIR: models,
      RECS_REGISTRY_POLL: '200ms',
      RECS_TF_BACKEND: 'cpu',
      STORAGE_GRPC_ADDR: services.get('storage')!.grpcAddress,
      FEATURES_GRPC_ADDR: services.get('feature-store')!.grpcAddress,
    }),
  );
  services.set('recommender', started[started.length - 1]);

  const peers: Record<string, string> = {};
  for (const s of started) {
    peers[`${peerEnvPrefix(s.name)}_GRPC_ADDR`] = s.grpcAddress;
    peers[`${peerEnvPrefix(s.name)}_HTTP_URL`] = s.httpUrl;
  }
  // Nothing listens on cdc's ports.
  cdcAddress = `127.0.0.1:${await freePort()}`;
  peers['CDC_GRPC_ADDR'] = cdcAddress;
  peers['CDC_HTTP_URL'] = `http://127.0.0.1:${await freePort()}`;
  const web = await startService('console', { PULSE_API_KEY, ...peers, CONSOLE_SAMPLE_INTERVAL: '500ms', CONSOLE_CALL_DEADLINE: '1500ms' });
  services.set('console', web);
  consoleUrl = web.httpUrl;

  ingest = grpcClient(services.get('ingest')!.grpcAddress, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', {
    credentials: PULSE_API_KEY,
  });
  storage = grpcClient(services.get('storage')!.grpcAddress, 'pulse/storage/v1/storage_service.proto', 'pulse.storage.v1.StorageService', {
    credentials: PULSE_API_KEY,
  });

  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  ingest?.close();
  storage?.close();
  await Promise.all([...services.values()].map((s) => s.stop()));
  await kafka?.close();
  const pg = new PgClient({ connectionString: PG_URL });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS ${fsSchema} CASCADE`).catch(() => undefined);
  await pg.end();
  const cassandra = stackCassandraClient();
  await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
  await cassandra.shutdown();
  rmSync(dir, { recursive: true, force: true });
  await key?.remove();
}, 120_000);

async function track(type: ingestV1.ActivityType, items: string[]): Promise<void> {
  const response = await ingest.call<ingestV1.TrackEventsResponse>('TrackEvents', {
    clientId: 'console-test',
    events: items.map((item) => ({
      eventId: randomUUID(),
      userId: user,
      type,
      target: { type: ingestV1.TargetType.TARGET_TYPE_POST, id: item },
      occurredAt: millisToTimestamp(Date.now()),
    })),
  });
  expect(response.acceptedCount).toBe(items.length);
}

/** Text of the element the selector names, once `ok` holds for it (the panels refresh on their own). */
async function waitForText(selector: string, ok: (text: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const text = await eventually(
    () => page.locator(selector).innerText(),
    (t) => typeof t === 'string' && ok(t),
    timeoutMs,
  );
  if (typeof text !== 'string' || !ok(text)) throw new Error(`${selector} never showed what was expected; last text: ${text}`);
  return text;
}

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe('console in a browser', () => {
  it('overview: the running services ready, cdc unreachable at its address, events per second rising as events arrive', async () => {
    await page.goto(consoleUrl);
    for (const name of ['ingest', 'etl', 'storage', 'feature-store', 'recommender'])
      expect(await page.locator(`tr[data-service="${name}"]`).getAttribute('data-ready')).toBe('ready');
    expect(await page.locator('tr[data-service="cdc"]').getAttribute('data-ready')).toBe('unreachable');
    expect(await page.locator('#cdc').innerText()).toContain(`cdc unreachable at ${cdcAddress}`);
    await waitForText('#model', (t) => t.includes('itempop'));

    // Events through ingest for a few seconds: the tracked topic's rate on the chart goes above zero.
    const rate = async () => {
      const chart = (await page.evaluate(() => fetch('/api/charts/overview/throughput').then((r) => r.json()))) as {
        series: { label: string; values: (number | null)[] }[];
      };
      return Math.max(0, ...(chart.series.find((s) => s.label === Topics.activityTracked.name)?.values ?? []).map((v) => v ?? 0));
    };
    const before = await rate();
    for (let i = 0; i < 6; i++) {
      await track(ingestV1.ActivityType.ACTIVITY_TYPE_VIEW, [`post-${i}`, `post-${i + 1}`, `post-${i + 2}`]);
      await new Promise((r) => setTimeout(r, 400));
    }
    expect(await eventually(rate, (r) => r > before, 10_000)).toBeGreaterThan(before);
    // The chart itself is drawn (a uPlot canvas with the topic in its legend), and the lag panel lists this run's group.
    await page.waitForSelector('#throughput-chart canvas', { timeout: 10_000 });
    await waitForText('#throughput-chart', (t) => t.includes(Topics.activityTracked.name), 10_000);
    await waitForText('#lag-now', (t) => t.includes(`console-storage-${run}`));
    await shot('overview');
  });

  it('lake: etl’s bronze table with its commits, and its rows at a chosen version', async () => {
    await page.goto(`${consoleUrl}/lake`);
    await waitForText('#tables', (t) => /activity_bronze\s+[1-9]/.test(t));
    await page.click('tr[data-table="activity_bronze"] a');
    await waitForText('#history', (t) => t.includes('STREAMING UPDATE'));
    await page.fill('#preview input[name="version"]', '1');
    await page.click('button[data-act="preview"]');
    await page.waitForSelector('[data-preview-version="1"]');
    // Version 1 is the stream's first commit: rows of tracked events.
    const [, first] = /version 1: ([\d,]+) rows/.exec(await page.locator('#preview-rows').innerText()) ?? [];
    expect(Number(first?.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(await page.locator('#preview-rows tbody tr').count()).toBeGreaterThan(0);
    await page.waitForSelector('#rows-chart canvas', { timeout: 10_000 });
    await shot('lake');
    // A version that is not a number is refused with the field and the reason.
    await page.fill('#preview input[name="version"]', 'x');
    await page.click('button[data-act="preview"]');
    await waitForText('#preview-rows', (t) => t.includes('version: a table version is a whole number'));
  });

  it('user: profile and counts, recommendations from the model in service, people they may know, and a like sent through ingest that the activity shows', async () => {
    await storage.call('CreateProfile', {
      profile: { userId: user, handle: `c_${run}`, displayName: 'Console Test', bio: 'Reads <b>everything</b>' },
    });
    await storage.call('CreateProfile', { profile: { userId: follower, handle: `f_${run}`, displayName: 'Follower' } });
    await storage.call<storageV1.FollowResponse>('Follow', { followerId: follower, followeeId: user });
    // The analytics service's list of people the user may know, as its pymk job pushes it.
    const features = grpcClient(
      services.get('feature-store')!.grpcAddress,
      'pulse/features/v1/features_service.proto',
      'pulse.features.v1.FeaturesService',
      {
        credentials: key.key,
      },
    );
    await features
      .call('Push', {
        featureView: 'user_pymk',
        mode: featuresV1.PushMode.PUSH_MODE_ONLINE,
        rows: [
          {
            joinKeys: { user_id: { stringValue: user } },
            features: {
              candidates: { stringListValue: { values: [follower, `user-${run}-3`] } },
              scores: { doubleListValue: { values: [7.5, 2] } },
              common_connections: { int64ListValue: { values: [6, 1] } },
            },
            eventTimestamp: millisToTimestamp(Date.now()),
          },
        ],
      })
      .finally(() => features.close());
    await page.goto(`${consoleUrl}/users/${user}`);
    const profile = await waitForText('#profile', (t) => t.includes(`@c_${run}`));
    expect(profile).toContain('Reads <b>everything</b>'); // shown as text, not markup
    expect(await page.locator('#profile [data-followers]').innerText()).toBe('1');
    await waitForText('#recommendations', (t) => t.includes('itempop'));
    const item = await page.locator('#recommendations tr[data-item]').first().getAttribute('data-item');
    expect(item).toMatch(/^post-\d+$/);
    await waitForText('#features', (t) => t.includes('user_profile:followers') && t.includes('user_actions_1h:views'));
    await waitForText('#people', (t) => t.includes(`user-${run}-3`));
    expect(await page.locator(`#people tr[data-person="${follower}"] td`).allInnerTexts()).toEqual([follower, '6', '7.50']);
    expect(await page.locator(`#people tr[data-person="${follower}"] a`).getAttribute('href')).toBe(`/users/${follower}`);

    await page.locator(`#recommendations tr[data-item="${item}"] button[data-act="like"]`).click();
    await waitForText('#flash', (t) => t.includes('accepted'));
    await waitForText('#activity', (t) => t.includes('LIKE') && t.includes(item!), 30_000);
    await shot('users');
  });

  it('models: the registered version in service; a rollback with nothing to roll back to shows FAILED_PRECONDITION', async () => {
    await page.goto(`${consoleUrl}/models`);
    const row = page.locator('#registry tr[data-promoted="true"]');
    expect(await row.innerText()).toContain('itempop');
    await page.waitForSelector('#models-chart canvas', { timeout: 10_000 });
    await page.click('button[data-act="rollback"]');
    await waitForText('#flash', (t) => t.includes('recommender answered FAILED_PRECONDITION'));
    await shot('models');
    await page.goto(`${consoleUrl}/experiments`);
    await shot('experiments');
  });

  it('a stopped service shows as unreachable while the other panels keep rendering', async () => {
    const features = services.get('feature-store')!;
    await features.stop();
    services.delete('feature-store');
    await page.goto(`${consoleUrl}/users/${user}`);
    expect(await page.locator('#features').innerText()).toContain(`feature-store unreachable at ${features.grpcAddress}`);
    await waitForText('#recommendations', (t) => t.includes('itempop'));
    await page.goto(consoleUrl);
    expect(await page.locator('tr[data-service="feature-store"]').getAttribute('data-ready')).toBe('unreachable');
    expect(await page.locator('tr[data-service="ingest"]').getAttribute('data-ready')).toBe('ready');
    await waitForText('#etl', (t) => t.includes('activity_bronze'));
    await shot('overview-feature-store-down');
  });
});
