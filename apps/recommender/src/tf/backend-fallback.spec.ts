import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMovieLens } from '../data/readers';
import { leaveOneOut } from '../data/split';
import { evaluateSampled } from '../eval/metrics';
import { ItemPopModel } from '../models/item-pop.model';
import { trainingData } from '../models/model';
import { ncfConfig, NcfModel } from '../models/ncf.model';
import { loadNcfModel } from '../models/ncf.tfjs-format';
import { syntheticRatingsCsv } from '../testing/synthetic';
import { describeBackend, loadTf } from './tf-backend';

jest.setTimeout(120_000);

// Machines where tfjs-node's addon cannot be built run the pure-JS packages: this file runs the
// WebAssembly backend (its own module registry and globals, so the native backend of other files does not leak in).
describe('the pure-JS fallback (@tensorflow/tfjs with the wasm backend)', () => {
  it('trains a NeuMF that beats ItemPop, saves and loads it', async () => {
    const loaded = await loadTf('wasm');
    expect(loaded.backend).toBe('wasm');
    expect(loaded.tf.getBackend()).toBe('wasm');
    expect(describeBackend(loaded)).toMatch(/on backend wasm/);
    const dir = mkdtempSync(join(tmpdir(), 'recs-wasm-'));
    writeFileSync(join(dir, 'ratings.csv'), syntheticRatingsCsv({ users: 60, items: 160, clusters: 4, perUser: 16 }));
    const split = leaveOneOut(await readMovieLens(join(dir, 'ratings.csv')), { seed: 2 });
    const data = trainingData(split.train);
    const pop = new ItemPopModel();
    await pop.fit(data);
    const model = new NcfModel(ncfConfig('neumf', { epochs: 6, learningRate: 0.01, batchSize: 128 }));
    await model.fit(data);
    const hr = evaluateSampled(model, split).hr;
    expect(hr).toBeGreaterThan(evaluateSampled(pop, split).hr + 0.1);
    await model.save(join(dir, 'model'));
    const back = await loadNcfModel(join(dir, 'model'));
    expect(evaluateSampled(back, split).hr).toBeCloseTo(hr, 6);
    model.dispose();
    back.dispose();
  });

  it('refuses to switch backends inside one process', async () => {
    await expect(loadTf('cpu')).rejects.toThrow(/already runs on backend wasm/);
  });
});
