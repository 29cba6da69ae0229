import { recsV1 } from '@pulse/contracts';
import { eventually, issueTestApiKey, type ServiceProcess, startService, type TestApiKey } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelRegistry } from '../src/registry/model-registry';
import { appendActivity, appendPostChanges } from '../src/testing/synthetic-lake';
import { lakeScenario, recsClient } from './support/recs-test-kit';

// Two built replicas (dist/apps/recommender/main.js, as `./pulse up` and the image run it) on one registry
// and one lake, both training on a schedule.
const dir = mkdtempSync(join(tmpdir(), 'recs-schedule-int-'));
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const lake = join(dir, 'lake');
const modelsDir = join(dir, 'models');
const schema = `recs_sched_${run}`;
const replicas: ServiceProcess[] = [];

const metric = async (replica: ServiceProcess, pattern: RegExp) => {
  const text = await fetch(`${replica.httpUrl}/metrics`).then((r) => r.text());
  return [...text.matchAll(new RegExp(pattern.source, 'g'))].reduce((sum, m) => sum + Number(m[1]), 0);
};

let key: TestApiKey;

beforeAll(async () => {
  key = await issueTestApiKey({ label: 'recs-schedule', scopes: ['recs:read'] });
  const scenario = lakeScenario();
  await appendPostChanges(lake, schema, [...scenario.posts, ...scenario.changes]);
  await appendActivity(lake, scenario.activity);
  const env = (name: string) => ({
    RECS_MODELS_DIR: modelsDir,
    RECS_LAKE_ROOT: lake,
    RECS_CDC_SCHEMA: schema,
    RECS_TRAIN_INTERVAL: '1h',
    RECS_TRAIN_DELAY: '1s',
    // Enough epochs that one run lasts while the other replica's first tick comes.
    RECS_TRAIN_ARGS: '--model gmf --epochs 20 --lr 0.01 --batch-size 128',
    RECS_REGISTRY_POLL: '1h',
    RECS_MODEL_GROUP_PREFIX: `recs-model-t-${run}-${name}-`,
    RECS_REDIS_PREFIX: `pulse:recs:t:${run}:`,
    RECS_LIVE_CONSUMER: 'false',
    RECS_CATALOG_CONSUMER: 'false',
    RECS_PUBLISH_SERVED: 'false',
  });
  replicas.push(...(await Promise.all([startService('recommender', env('a')), startService('recommender', env('b'))])));
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await key?.remove();
});

describe('scheduled training', () => {
  it('trains from the lake on its interval on one replica at a time, and both serve what the gate promoted', async () => {
    const registry = new ModelRegistry(modelsDir);
    const runs = await eventually(
      () => Promise.all(replicas.map((r) => metric(r, /recs_train_runs_total\{outcome="promoted"[^}]*\} (\d+)/))),
      (counts) => counts?.some((n) => n > 0),
      90_000,
    );
    const promoted = registry.state().promoted;
    expect(promoted).toBeTruthy();
    const skipped = await Promise.all(replicas.map((r) => metric(r, /recs_train_skipped_total\{reason="(?:locked|not_due)"[^}]*\} (\d+)/)));
    // One run in all: the replica that did not train found the lock taken (or the run done) at its tick.
    expect(runs.reduce((a, b) => a + b, 0)).toBe(1);
    expect(skipped[runs.indexOf(1)]).toBe(0);
    expect(skipped[runs.indexOf(0)]).toBeGreaterThanOrEqual(1);
    expect(registry.list()).toHaveLength(1);
    expect(registry.get(promoted as string)).toMatchObject({ dataSource: 'lake', gate: { outcome: 'promoted' } });
    const trainer = replicas[runs.indexOf(1)];
    expect(await metric(trainer, /recs_train_last_run_outcome\{outcome="promoted"[^}]*\} (\d+)/)).toBe(1);
    expect(await metric(trainer, /recs_train_last_run_duration_seconds\{[^}]*\} (\S+)/)).toBeGreaterThan(0);
    for (const replica of replicas) {
      const client = recsClient(replica.grpcAddress, key.key);
      try {
        const got = await client.call('GetModel', {});
        expect(got.model).toMatchObject({
          version: promoted,
          dataSource: 'lake',
          gate: { outcome: recsV1.GateOutcome.GATE_OUTCOME_PROMOTED },
        });
        const served = await eventually(
          () => client.call('Recommend', { userId: '10', numResults: 5 }),
          (r) => r?.modelVersion === promoted,
          10_000,
        );
        expect(served?.modelVersion).toBe(promoted);
      } finally {
        client.close();
      }
    }
  }, 120_000);
});
