import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdMap } from '../data/id-map';
import { ItemPopModel } from '../models/item-pop.model';
import { ModelNotFoundError, ModelRegistry, NothingToRollBackError } from './model-registry';

async function registered(registry: ModelRegistry, counts: number[]): Promise<string> {
  const model = new ItemPopModel();
  const popularity = Float32Array.from(counts);
  await model.fit({
    numUsers: 1,
    numItems: counts.length,
    users: new Int32Array(0),
    items: new Int32Array(0),
    byUser: { offsets: new Int32Array(2), items: new Int32Array(0) },
    popularity,
  });
  const record = await registry.register(
    model,
    { metrics: { hr_at_10: 0.5 }, dataFingerprint: 'f'.repeat(64), dataCutoff: '', hyperparameters: {} },
    {
      users: IdMap.from(['u1']),
      items: IdMap.from(counts.map((_, i) => `i${i}`)),
      popularity,
      seen: { offsets: new Int32Array(2), items: new Int32Array(0) },
    },
  );
  return record.version;
}

describe('model registry', () => {
  it('promotes, rolls back through the promotion history, and refuses when there is nothing before', async () => {
    const registry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'recs-registry-')));
    const a = await registered(registry, [3, 1]);
    const b = await registered(registry, [1, 3]);
    const c = await registered(registry, [2, 2]);
    expect(
      registry
        .list()
        .map((r) => r.version)
        .sort(),
    ).toEqual([a, b, c].sort());
    expect(() => registry.rollback()).toThrow(NothingToRollBackError);
    registry.promote(a);
    registry.promote(b);
    expect(registry.promote(b).previous).toBe(b); // idempotent
    registry.promote(c);
    expect(registry.rollback()).toMatchObject({ rolledBack: c, record: { version: b } });
    expect(registry.rollback()).toMatchObject({ rolledBack: b, record: { version: a } });
    expect(() => registry.rollback()).toThrow(NothingToRollBackError);
    expect(registry.state().promoted).toBe(a);
    expect(() => registry.promote('no-such-version')).toThrow(ModelNotFoundError);
    expect(() => registry.remove(a)).toThrow(/promoted/);
  });

  it('loads a version with its id maps and popularity, as registered', async () => {
    const registry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'recs-registry-')));
    const version = await registered(registry, [5, 0, 7]);
    const loaded = await registry.load(version);
    expect(loaded.items.ids).toEqual(['i0', 'i1', 'i2']);
    expect(Array.from(loaded.popularity)).toEqual([5, 0, 7]);
    expect(Array.from(loaded.model.scoreUser(0))).toEqual([5, 0, 7]);
    expect(registry.get('../escape')).toBeUndefined();
  });

  it('updates a version record in place, keeping its version and algorithm and leaving no temporary file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'recs-registry-'));
    const registry = new ModelRegistry(root);
    const version = await registered(registry, [1, 2]);
    const gate = {
      outcome: 'refused' as const,
      reason: 'hr@10 0.1 does not beat ItemPop 0.2',
      metric: 'hr@10',
      candidateValue: 0.1,
      promotedValue: 0,
      promotedVersion: '',
      baselineValue: 0.2,
      margin: 0.005,
      decidedAt: new Date(0).toISOString(),
    };
    const updated = registry.update(version, (r) => ({ ...r, gate, version: 'renamed', algorithm: 'mlp' }));
    expect(updated).toMatchObject({ version, algorithm: 'itempop', gate });
    expect(registry.get(version)).toEqual(updated);
    expect(readdirSync(join(root, 'versions', version)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(() => registry.update('no-such-version', (r) => r)).toThrow(ModelNotFoundError);
  });
});
