import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateSampled } from '../eval/metrics';
import { syntheticLeaveOneOut, syntheticRatingsCsv } from '../testing/synthetic';
import { loadTf } from '../tf/tf-backend';
import { type EnsembleModel, logisticRegression, standardise } from './ensemble.model';
import { createModel, loadModel } from './model-factory';

jest.setTimeout(90_000);

const dir = mkdtempSync(join(tmpdir(), 'recs-ensemble-'));

beforeAll(async () => {
  await loadTf('auto');
});

describe('stacking', () => {
  it('the logistic-regression blender weighs an informative feature up and a noise feature down', () => {
    const n = 2000;
    const y = Float32Array.from({ length: n }, (_, r) => (r % 10 === 0 ? 1 : 0));
    const informative = Float32Array.from(y, (v, r) => v * 2 + Math.sin(r * 12.9898) * 0.5);
    const noise = Float32Array.from(y, (_, r) => Math.cos(r * 78.233));
    const [w1, w2] = logisticRegression([informative, noise], y, 0.001);
    expect(w1).toBeGreaterThan(1);
    expect(Math.abs(w2)).toBeLessThan(0.3);
    const z = standardise(Float32Array.of(1, 2, 3));
    expect(Array.from(z).map((x) => Math.round(x * 1000) / 1000)).toEqual([-1.225, 0, 1.225]);
  });

  it('blends members chosen on a validation hold-out, beats ItemPop, and round-trips with its members', async () => {
    const { split, data } = await syntheticLeaveOneOut(dir, syntheticRatingsCsv({ users: 120, items: 240, perUser: 20 }));
    const model = createModel('ensemble', { members: 'itempop,itemknn,ease', l2: 20 }) as EnsembleModel;
    await model.fit(data);
    expect(model.weights).toHaveLength(3);
    expect(model.validation['val_hr@10']).toBeGreaterThan(model.validation['val_hr@10_itempop']);
    const pop = createModel('itempop');
    await pop.fit(data);
    expect(evaluateSampled(model, split).hr).toBeGreaterThan(evaluateSampled(pop, split).hr + 0.1);
    await model.save(join(dir, 'ensemble'));
    const loaded = await loadModel(join(dir, 'ensemble'), 'ensemble');
    const before = model.scoreUser(9);
    loaded.scoreUser(9).forEach((s, i) => expect(s).toBeCloseTo(before[i], 4));
    [model, loaded, pop].forEach((m) => m.dispose());
  });
});
