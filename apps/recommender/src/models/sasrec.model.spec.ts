import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateFullRank, evaluateSampled } from '../eval/metrics';
import { syntheticLeaveOneOut, syntheticSequencesCsv } from '../testing/synthetic';
import { loadTf, type Tf } from '../tf/tf-backend';
import { EaseModel } from './ease.model';
import { loadModel } from './model-factory';
import { SasRecModel } from './sasrec.model';

jest.setTimeout(120_000);

let tf: Tf;
const dir = mkdtempSync(join(tmpdir(), 'recs-sasrec-'));

const sequentialSplit = () => syntheticLeaveOneOut(dir, syntheticSequencesCsv({ users: 100, items: 200, perUser: 20 }));

beforeAll(async () => {
  tf = (await loadTf('auto')).tf;
});

describe('SASRec', () => {
  it('is causal: the output at a position does not depend on later items', () => {
    const model = new SasRecModel({ maxLen: 6, factors: 8, blocks: 2 });
    model.initialize(20);
    const a = tf.tensor2d([[0, 0, 3, 4, 5, 6]], [1, 6], 'int32');
    const b = tf.tensor2d([[0, 0, 3, 4, 9, 1]], [1, 6], 'int32');
    const ha = model.forward(a, false).arraySync() as number[][][];
    const hb = model.forward(b, false).arraySync() as number[][][];
    for (const t of [2, 3]) ha[0][t].forEach((x, f) => expect(hb[0][t][f]).toBeCloseTo(x, 5));
    expect(ha[0][5][0]).not.toBeCloseTo(hb[0][5][0], 5);
    model.dispose();
  });

  it('its loss has the gradients of its forward pass (finite differences on the item embeddings)', () => {
    const model = new SasRecModel({ maxLen: 4, factors: 4, blocks: 1, dropout: 0 });
    model.initialize(6);
    const seq = tf.tensor2d([[0, 1, 2, 3]], [1, 4], 'int32');
    const pos = tf.tensor2d([[0, 2, 3, 4]], [1, 4], 'int32');
    const neg = tf.tensor2d([[0, 5, 6, 5]], [1, 4], 'int32');
    const items = (model as unknown as { params: Record<string, ReturnType<typeof tf.variable>> }).params['items'];
    const { grads } = tf.variableGrads(() => model.loss(seq, pos, neg), [items]);
    const analytic = grads[items.name].arraySync() as number[][];
    const base = items.arraySync() as number[][];
    const h = 1e-2;
    for (const [r, c] of [
      [2, 1],
      [5, 0],
      [3, 3],
    ]) {
      const at = (delta: number) => {
        const copy = base.map((row) => row.slice());
        copy[r][c] += delta;
        items.assign(tf.tensor2d(copy));
        return model.loss(seq, pos, neg).dataSync()[0];
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      items.assign(tf.tensor2d(base));
      expect(analytic[r][c]).toBeCloseTo(numeric, 2);
    }
    model.dispose();
  });

  it('learns what comes next: beats EASE at ranking the next item first where order is the signal, and round-trips', async () => {
    const { split, data } = await sequentialSplit();
    const model = new SasRecModel({ maxLen: 10, factors: 32, epochs: 30, batchSize: 64, learningRate: 0.005, dropout: 0.1 });
    const fit = await model.fit(data);
    expect(fit.losses[fit.losses.length - 1]).toBeLessThan(fit.losses[0]);
    const ease = new EaseModel({ l2: 10 });
    await ease.fit(data);
    // Both find the chain a user is on (co-occurrence is enough for that); only order tells which end comes next.
    const heldOut = new Map<number, Set<number>>();
    split.testItem.forEach((item, u) => item >= 0 && heldOut.set(u, new Set([item])));
    const first = (m: EaseModel | SasRecModel) => evaluateFullRank(m, heldOut, data.byUser, data.numItems, 1).recall;
    expect(evaluateSampled(model, split).hr).toBeGreaterThan(0.8);
    expect(first(model)).toBeGreaterThan(first(ease) + 0.2);
    // Scoring the user's training sequence directly is scoring the user.
    const user = 7;
    const seq = Array.from(data.sequences.items.subarray(data.sequences.offsets[user], data.sequences.offsets[user + 1]));
    const byUser = model.scoreUser(user);
    model.scoreSequence(seq).forEach((s, i) => expect(s).toBeCloseTo(byUser[i], 4));
    // After item i comes i + 1: a sequence ending in 42 puts 43 near the top.
    const next = model.scoreSequence([39, 40, 41, 42]);
    expect(Array.from(next.keys()).filter((i) => next[i] > next[43]).length).toBeLessThan(5);
    await model.save(join(dir, 'sasrec'));
    const loaded = await loadModel(join(dir, 'sasrec'), 'sasrec');
    loaded.scoreUser(user).forEach((s, i) => expect(s).toBeCloseTo(byUser[i], 4));
    [model, loaded].forEach((m) => m.dispose());
  });
});
