import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMovieLens } from '../data/readers';
import { leaveOneOut } from '../data/split';
import { evaluateSampled } from '../eval/metrics';
import { syntheticRatingsCsv } from '../testing/synthetic';
import { writeFileSync } from 'node:fs';
import { loadTf, type Tf } from '../tf/tf-backend';
import { ItemKnnModel } from './item-knn.model';
import { ItemPopModel } from './item-pop.model';
import { trainingData } from './model';
import { type NcfKind, ncfConfig, NcfModel } from './ncf.model';
import { buildLayersModel, loadNcfModel } from './ncf.tfjs-format';

jest.setTimeout(60_000);

let tf: Tf;
const dir = mkdtempSync(join(tmpdir(), 'recs-ncf-'));

async function syntheticSplit() {
  const path = join(dir, 'ratings.csv');
  writeFileSync(path, syntheticRatingsCsv({ users: 120, items: 240, perUser: 20 }));
  const split = leaveOneOut(await readMovieLens(path), { seed: 5 });
  return { split, data: trainingData(split.train) };
}

beforeAll(async () => {
  tf = (await loadTf('auto')).tf;
});

describe('the hand-written training step', () => {
  it.each(['mf', 'gmf', 'mlp', 'neumf'] as NcfKind[])('%s: gradients equal TF.js autodiff of the same loss', (kind) => {
    const model = new NcfModel(ncfConfig(kind, { layers: [16, 8, 4] }));
    model.initialize(5, 7);
    const rowDim = model.rowDim;
    const n = 6;
    const ue = tf.randomNormal([n, rowDim], 0, 0.5, 'float32', 1);
    const ie = tf.randomNormal([n, rowDim], 0, 0.5, 'float32', 2);
    const labels = Float32Array.from([1, 0, 0, 1, 0, 1]);
    const y = tf.tensor1d(labels);
    const params = (model as unknown as { params: ReturnType<typeof tf.randomNormal>[] }).params;
    // Perturb the dense weights so no ReLU sits exactly at 0 and biases are not all zero.
    const perturbed = params.map((p, k) => tf.add(p, tf.randomNormal(p.shape, 0, 0.1, 'float32', 10 + k)));
    const manual = model.forwardBackward(ue, ie, perturbed, labels);
    const auto = tf.valueAndGrads((...args: ReturnType<typeof tf.randomNormal>[]) => {
      const logits = (model as unknown as { forward: (...a: unknown[]) => ReturnType<typeof tf.randomNormal> }).forward(
        args[0],
        args[1],
        args.slice(2),
        false,
      );
      return tf.mean(tf.sub(tf.softplus(logits), tf.mul(logits, y))) as ReturnType<typeof tf.scalar>;
    })([ue, ie, ...perturbed]);
    expect(manual.loss).toBeCloseTo(auto.value.dataSync()[0], 5);
    const autoRows = tf.concat([auto.grads[0], auto.grads[1]], 0).dataSync();
    const manualRows = manual.rows.dataSync();
    autoRows.forEach((g, k) => expect(manualRows[k]).toBeCloseTo(g, 5));
    const autoDense = tf.concat(auto.grads.slice(2).map((g) => g.reshape([-1]))).dataSync();
    const manualDense = manual.dense.dataSync();
    expect(manualDense.length).toBe(autoDense.length);
    autoDense.forEach((g, k) => expect(manualDense[k]).toBeCloseTo(g, 5));
    model.dispose();
  });
});

describe('models on data with taste clusters', () => {
  it('NeuMF, GMF, MLP, MF and ItemKNN beat ItemPop on HR@10 (leave-one-out, 99 negatives)', async () => {
    const { split, data } = await syntheticSplit();
    const pop = new ItemPopModel();
    await pop.fit(data);
    const popHr = evaluateSampled(pop, split).hr;
    const knn = new ItemKnnModel();
    await knn.fit(data);
    const hrs: Record<string, number> = { itempop: popHr, itemknn: evaluateSampled(knn, split).hr };
    for (const kind of ['mf', 'gmf', 'mlp', 'neumf'] as NcfKind[]) {
      const model = new NcfModel(ncfConfig(kind, { epochs: 8, learningRate: 0.01, batchSize: 128 }));
      const fit = await model.fit(data);
      expect(fit.losses[fit.losses.length - 1]).toBeLessThan(fit.losses[0]);
      hrs[kind] = evaluateSampled(model, split).hr;
      model.dispose();
    }
    for (const kind of ['itemknn', 'mf', 'gmf', 'mlp', 'neumf']) expect({ kind, hr: hrs[kind] }).toEqual({ kind, hr: expect.any(Number) });
    for (const kind of ['itemknn', 'mf', 'gmf', 'mlp', 'neumf']) expect(hrs[kind]).toBeGreaterThan(popHr + 0.1);
  });

  it('NeuMF from pre-trained GMF and MLP starts where they ended and keeps learning', async () => {
    const { split, data } = await syntheticSplit();
    const gmf = new NcfModel(ncfConfig('gmf', { epochs: 6, learningRate: 0.01, batchSize: 128 }));
    const mlp = new NcfModel(ncfConfig('mlp', { epochs: 6, learningRate: 0.01, batchSize: 128 }));
    await gmf.fit(data);
    await mlp.fit(data);
    const gmfHr = evaluateSampled(gmf, split).hr;
    const neumf = new NcfModel(ncfConfig('neumf', { epochs: 2, optimizer: 'sgd', learningRate: 0.01, batchSize: 128 }));
    neumf.initializeFromPretrained(gmf, mlp);
    // With α = 0.5 the combined logit is the mean of the two logits: it ranks like an ensemble of both.
    const start = evaluateSampled(neumf, split).hr;
    expect(start).toBeGreaterThan(gmfHr - 0.1);
    await neumf.fit(data);
    expect(evaluateSampled(neumf, split).hr).toBeGreaterThan(start - 0.05);
    [gmf, mlp, neumf].forEach((m) => m.dispose());
  });
});

describe('saving and serving', () => {
  it('a saved NeuMF loads through tf.loadLayersModel and gives the same scores', async () => {
    const { data } = await syntheticSplit();
    const model = new NcfModel(ncfConfig('neumf', { epochs: 2, batchSize: 128 }));
    await model.fit(data);
    const users = Int32Array.from({ length: 50 }, (_, k) => k % data.numUsers);
    const items = Int32Array.from({ length: 50 }, (_, k) => (k * 7) % data.numItems);
    const before = model.scorePairs(users, items);
    await model.save(join(dir, 'neumf'));
    const loaded = await loadNcfModel(join(dir, 'neumf'));
    const after = loaded.scorePairs(users, items);
    before.forEach((s, k) => expect(after[k]).toBeCloseTo(s, 5));
    // The Layers model itself predicts sigmoid(score).
    const layers = buildLayersModel(loaded);
    const predicted = (
      layers.predict([tf.tensor2d(users, [50, 1], 'int32'), tf.tensor2d(items, [50, 1], 'int32')]) as ReturnType<typeof tf.scalar>
    ).dataSync();
    before.forEach((s, k) => expect(predicted[k]).toBeCloseTo(1 / (1 + Math.exp(-s)), 5));
    [model, loaded].forEach((m) => m.dispose());
    layers.dispose();
  });

  it.each(['mf', 'gmf', 'mlp', 'neumf'] as NcfKind[])(
    '%s: scoring all items for a user with precomputed item parts equals pairwise scoring',
    async (kind) => {
      const { data } = await syntheticSplit();
      const model = new NcfModel(ncfConfig(kind, { epochs: 1 }));
      await model.fit(data);
      const user = 3;
      const all = model.scoreUser(user);
      const pairs = model.scorePairs(
        new Int32Array(data.numItems).fill(user),
        Int32Array.from({ length: data.numItems }, (_, i) => i),
      );
      expect(all.length).toBe(data.numItems);
      pairs.forEach((s, i) => expect(all[i]).toBeCloseTo(s, 4));
      model.dispose();
    },
  );
});

describe('linear factors for fold-in', () => {
  it.each(['mf', 'gmf'] as NcfKind[])('%s: scoring with the factors gives the model’s own scores', async (kind) => {
    const { data } = await syntheticSplit();
    const model = new NcfModel(ncfConfig(kind, { epochs: 2, factors: 8, learningRate: 0.01 }));
    await model.fit(data);
    const factors = model.linearFactors();
    expect(factors).toBeDefined();
    const { scoreAllItems } = await import('../live/fold-in');
    for (const user of [0, 7, 42]) {
      const own = model.scoreUser(user);
      const viaFactors = scoreAllItems(factors!, factors!.userVector(user));
      for (const item of [0, 13, 200]) expect(viaFactors[item]).toBeCloseTo(own[item], 4);
    }
    model.dispose();
  });

  it('has none for the MLP and NeuMF towers', () => {
    const mlp = new NcfModel(ncfConfig('mlp', { layers: [16, 8] }));
    mlp.initialize(3, 3);
    expect(mlp.linearFactors()).toBeUndefined();
  });
});
