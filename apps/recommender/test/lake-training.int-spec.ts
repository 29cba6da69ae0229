import { recsV1 } from '@pulse/contracts';
import type { UnaryClient } from '@pulse/platform';
import { eventually, issueTestApiKey, type TestApiKey } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type RunningApp } from '../src/app.factory';
import { ModelRegistry } from '../src/registry/model-registry';
import { appendActivity, appendPostChanges } from '../src/testing/synthetic-lake';
import { loadTf } from '../src/tf/tf-backend';
import { LATER, lakeScenario, recsCli, recsClient, summary } from './support/recs-test-kit';

const { GateOutcome } = recsV1;

// Each run has its own lake, registry, CDC schema (its posts table and topic), Redis prefix and consumer groups.
const dir = mkdtempSync(join(tmpdir(), 'recs-lake-int-'));
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const lake = join(dir, 'lake');
const modelsDir = join(dir, 'models');
const schema = `recs_lake_${run}`;
const scenario = lakeScenario();
const env = { RECS_LAKE_ROOT: lake, RECS_CDC_SCHEMA: schema, RECS_MODELS_DIR: modelsDir };
const TRAIN = ['train', '--source', 'lake', '--model', 'gmf', '--json', '--epochs', '20', '--lr', '0.01', '--batch-size', '128'];

/** A serving replica on the test's registry, polling it only once an hour: promotions reach it as events. */
async function replica(name: string): Promise<{ app: RunningApp; client: UnaryClient }> {
  const app = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    RECS_MODELS_DIR: modelsDir,
    RECS_REGISTRY_POLL: '1h',
    RECS_MODEL_GROUP_PREFIX: `recs-model-t-${run}-${name}-`,
    RECS_REDIS_PREFIX: `pulse:recs:t:${run}:`,
    RECS_CDC_SCHEMA: schema,
    RECS_LIVE_CONSUMER: 'false',
    RECS_CATALOG_CONSUMER: 'false',
    RECS_PUBLISH_SERVED: 'false',
  });
  return { app, client: recsClient(app.grpcAddress, key.key) };
}

// An operator's key (PromoteModel needs admin).
let key: TestApiKey;
let first: any;
let weak: any;
let asOf: any;

beforeAll(async () => {
  key = await issueTestApiKey({ label: 'recs-lake' });
  await loadTf('auto');
  await appendPostChanges(lake, schema, scenario.posts);
  await appendPostChanges(lake, schema, scenario.changes);
  await appendActivity(lake, scenario.activity);
  await appendActivity(lake, scenario.replayed);
}, 60_000);

afterAll(async () => {
  await key?.remove();
});

describe('recs train --source lake', () => {
  it('fails on an empty lake with a message and a non-zero exit, and registers nothing', async () => {
    const empty = join(dir, 'empty-lake');
    const res = await recsCli([...TRAIN, '--gate', '--lake-root', empty, '--models-dir', join(dir, 'empty-models')], env);
    expect(res.code).toBe(3);
    expect(res.stderr).toContain(`recs train: the lake at ${empty} is empty: no bronze/activity and no bronze/cdc/${schema}.posts`);
    expect(res.stderr).toContain('nothing registered');
    expect(new ModelRegistry(join(dir, 'empty-models')).list()).toEqual([]);
    const tooLittle = await recsCli([...TRAIN, '--min-users', '1000', '--models-dir', join(dir, 'empty-models')], env);
    expect(tooLittle.code).toBe(3);
    expect(tooLittle.stderr).toMatch(/too little data to train on: \d+ interactions of 90 users/);
    expect(new ModelRegistry(join(dir, 'empty-models')).list()).toEqual([]);
  }, 60_000);

  it('registers a version from the lake with its table versions, and the gate promotes it over ItemPop', async () => {
    const res = await recsCli([...TRAIN, '--gate'], env);
    expect(res.code).toBe(0);
    first = summary(res.stdout);
    expect(first).toMatchObject({
      algorithm: 'gmf',
      dataSource: 'lake',
      tableVersions: { 'bronze/activity': 2, [`bronze/cdc/${schema}.posts`]: 2 },
      promoted: true,
      eventSent: true,
      gate: { outcome: 'promoted', metric: 'hr@10', promotedVersion: '', margin: 0.005 },
    });
    expect(first.gate.candidateValue).toBeGreaterThan(first.gate.baselineValue);
    expect(res.stderr).toMatch(/gate: PROMOTED \S+: hr@10 0\.\d{4} beats ItemPop's 0\.\d{4}; no version was promoted/);
    const registry = new ModelRegistry(modelsDir);
    expect(registry.state().promoted).toBe(first.version);
    expect(registry.get(first.version)).toMatchObject({ dataSource: 'lake', tableVersions: first.tableVersions, gate: first.gate });
  }, 60_000);

  it('left out deleted and private posts, hidden and unliked pairs, and counted every event once', async () => {
    expect(first.stats.duplicates).toBe(scenario.duplicates);
    expect(first.stats.removed).toBeGreaterThan(0);
    const loaded = await new ModelRegistry(modelsDir).load(first.version);
    try {
      expect(loaded.items.get('1003')).toBeUndefined(); // deleted
      expect(loaded.items.get('1004')).toBeUndefined(); // private
      expect(loaded.items.get('1121')).toBeUndefined(); // created, no activity yet
      const seen = (userId: string) => {
        const u = loaded.users.get(userId) as number;
        return new Set(
          Array.from(loaded.seen.items.subarray(loaded.seen.offsets[u], loaded.seen.offsets[u + 1]), (i) => loaded.items.id(i)),
        );
      };
      const { hidden, unliked, unlikedTwice, likedThenHidden } = scenario.pairs;
      expect(loaded.items.get(hidden.postId)).toBeDefined(); // others engaged with it
      expect(seen(hidden.userId).has(hidden.postId)).toBe(false);
      expect(seen(unliked.userId).has(unliked.postId)).toBe(false);
      expect(seen(likedThenHidden.userId).has(likedThenHidden.postId)).toBe(false);
      expect(seen(unlikedTwice.userId).has(unlikedTwice.postId)).toBe(true); // view + like − one unlike > 0
      // The filters' index: the values an item is listed under.
      const valuesOf = (attribute: string, id: string) =>
        [...(loaded.attributes.get(attribute) ?? [])]
          .filter(([, items]) => items.includes(loaded.items.get(id) as number))
          .map(([value]) => value)
          .sort();
      expect(valuesOf('tag', '1002')).toEqual(['sport', 'topic0']);
      expect(valuesOf('author_id', '1002')).toEqual(['900']);
    } finally {
      loaded.model.dispose();
    }
  });

  it('refuses a weak model (0 epochs) with the reason recorded, and lists the decision', async () => {
    // More activity arrives first: this run reads newer table versions than the first.
    await appendActivity(
      lake,
      Array.from({ length: 30 }, (_, n) => ({
        eventId: `late-${n}`,
        userId: String(91 + (n % 5)),
        type: 'LIKE',
        targetId: String(1001 + n),
        occurredAtMs: LATER + 86_400_000 + n * 60_000,
      })),
    );
    const res = await recsCli([...TRAIN, '--gate', '--epochs', '0'], env);
    expect(res.code).toBe(0);
    weak = summary(res.stdout);
    expect(weak).toMatchObject({ promoted: false, gate: { outcome: 'refused', promotedVersion: first.version } });
    expect(weak.tableVersions['bronze/activity']).toBe(3);
    expect(weak.dataFingerprint).not.toBe(first.dataFingerprint);
    expect(weak.gate.reason).toMatch(/^hr@10 0\.\d{4} does not beat/);
    expect(res.stderr).toContain(`gate: REFUSED ${weak.version}: ${weak.gate.reason}`);
    expect(new ModelRegistry(modelsDir).state().promoted).toBe(first.version);
  }, 60_000);

  it('reproduces the first training set from its table versions (--as-of)', async () => {
    const versions = Object.entries(first.tableVersions as Record<string, number>).map(([path, v]) => `${path}=${v}`);
    const res = await recsCli([...TRAIN, '--epochs', '1', '--as-of', versions.join(',')], env);
    expect(res.code).toBe(0);
    asOf = summary(res.stdout);
    expect(asOf.tableVersions).toEqual(first.tableVersions);
    expect(asOf.dataFingerprint).toBe(first.dataFingerprint);
    expect(asOf.stats).toEqual(first.stats);
    expect(asOf).toMatchObject({ promoted: false });
    expect(asOf.gate).toBeUndefined();
  }, 60_000);
});

describe('promotion events', () => {
  let a: Awaited<ReturnType<typeof replica>>;
  let b: Awaited<ReturnType<typeof replica>>;
  const serving = (client: UnaryClient) => client.call<{ modelVersion: string }>('Recommend', { userId: '10', numResults: 5 });
  const follows = async (client: UnaryClient, version: string) =>
    (
      await eventually(
        () => serving(client),
        (r) => r?.modelVersion === version,
        5000,
      )
    )?.modelVersion;

  beforeAll(async () => {
    a = await replica('a');
    b = await replica('b');
  }, 120_000);

  afterAll(async () => {
    for (const r of [a, b]) {
      r?.client.close();
      await r?.app.close();
    }
  });

  it('lists each version with its data source, table versions and the gate’s decision', async () => {
    const { models } = await a.client.call('ListModels', { pageSize: 10 });
    const byVersion = new Map(models.map((m: any) => [m.version, m]));
    expect(byVersion.get(first.version)).toMatchObject({
      promoted: true,
      dataSource: 'lake',
      tableVersions: first.tableVersions,
      gate: { outcome: GateOutcome.GATE_OUTCOME_PROMOTED, metric: 'hr@10', promotedVersion: '' },
    });
    expect(byVersion.get(weak.version)).toMatchObject({
      promoted: false,
      gate: { outcome: GateOutcome.GATE_OUTCOME_REFUSED, reason: weak.gate.reason, promotedVersion: first.version },
    });
    expect(byVersion.get(asOf.version)).toMatchObject({ dataFingerprint: first.dataFingerprint, gate: null });
  });

  it('serves the posts’ tags as an attribute filter', async () => {
    const res = await a.client.call('Recommend', {
      userId: '10',
      numResults: 5,
      filter: { include: [{ attribute: 'tag', values: ['topic3'] }] },
    });
    expect(res.modelVersion).toBe(first.version);
    expect(res.items.length).toBeGreaterThan(0);
    for (const item of res.items) expect(Math.floor((Number(item.itemId) - 1001) / 20)).toBe(3);
  });

  it('a PromoteModel on one replica reaches the other within seconds, with polling off', async () => {
    expect((await serving(b.client)).modelVersion).toBe(first.version);
    await a.client.call('PromoteModel', { version: asOf.version, reason: 'int test' });
    expect(await follows(b.client, asOf.version)).toBe(asOf.version);
    await b.client.call('RollbackModel', { reason: 'int test' });
    expect(await follows(a.client, first.version)).toBe(first.version);
  }, 30_000);

  it('so does `recs promote`; without Kafka it still promotes and says the event was not sent', async () => {
    const sent = await recsCli(['promote', weak.version, '--reason', 'int test'], env);
    expect(sent.code).toBe(0);
    expect(sent.stderr).toContain(`sent ModelPromoted (${weak.version}) on pulse.recs.model.v1`);
    expect(await follows(a.client, weak.version)).toBe(weak.version);
    expect(await follows(b.client, weak.version)).toBe(weak.version);
    const unsent = await recsCli(['promote', first.version], { ...env, KAFKA_BROKERS: '127.0.0.1:1' });
    expect(unsent.code).toBe(0);
    expect(unsent.stderr).toContain(`promoted ${first.version} (was ${weak.version})`);
    expect(unsent.stderr).toMatch(/the promotion event was not sent to 127\.0\.0\.1:1 .*replicas pick it up by polling/);
    expect(new ModelRegistry(modelsDir).state().promoted).toBe(first.version);
    expect(readdirSync(join(modelsDir, 'versions')).filter((f) => f.startsWith('.'))).toEqual([]);
  }, 60_000);
});
