import { Rng } from '@pulse/platform';
import { loadTf, type Tf } from '../tf/tf-backend';
import { type HybridBatch, hybridGradients, type HybridTable, type PaddedTerms, type RowGradients } from './hybrid.gradients';

let tf: Tf;

beforeAll(async () => {
  tf = (await loadTf('auto')).tf;
});

describe("the hybrid's hand-written gradient", () => {
  it('equals TF.js autodiff of the same loss, rows summed over their occurrences', () => {
    const rng = new Rng(3);
    const d = 5;
    const [U, I, V, T] = [4, 6, 9, 3];
    const table: HybridTable = {
      dim: d,
      numUsers: U,
      numItems: I,
      numTerms: V,
      values: Float32Array.from({ length: (U + I + V) * d }, () => rng.normal() * 0.5),
    };
    // Item 5 has no terms at all, item 2 one; terms repeat across items.
    const terms: PaddedTerms = {
      maxTerms: T,
      ids: Int32Array.from([0, 1, 2, 3, 4, 0, 5, 0, 0, 6, 7, 8, 1, 2, 3, 0, 0, 0]),
      weights: Float32Array.from([0.5, 0.3, 0.2, 0.9, 0.1, 0, 1, 0, 0, 0.4, 0.4, 0.2, 0.7, 0.2, 0.1, 0, 0, 0]),
    };
    const hasCf = Float32Array.from([1, 1, 0, 1, 1, 1]);
    const batch: HybridBatch = {
      size: 5,
      u: Int32Array.from([0, 1, 1, 3, 2]),
      i: Int32Array.from([1, 2, 3, 5, 1]),
      j: Int32Array.from([4, 0, 4, 2, 3]),
      keepI: Float32Array.from([1, 0, 1, 1, 1]),
      keepJ: Float32Array.from([1, 1, 0, 1, 1]),
    };
    const l2 = 0.01;
    const out: RowGradients = { count: 0, rows: new Int32Array(0), grads: new Float32Array(0) };
    const loss = hybridGradients(table, terms, hasCf, batch, l2, out);
    const mine = new Float32Array(table.values.length);
    for (let k = 0; k < out.count; k++) for (let f = 0; f < d; f++) mine[out.rows[k] * d + f] += out.grads[k * d + f];

    // The loss as the model wrote it in TF.js ops (gather, sums), differentiated by the tape.
    const w = tf.variable(tf.tensor2d(table.values, [U + I + V, d]), true, 'hybrid-grad-check');
    const { value, grads } = tf.variableGrads(() => {
      const P = w.slice([0, 0], [U, d]);
      const E = w.slice([U, 0], [I, d]);
      const W = w.slice([U + I, 0], [V, d]);
      const termIds = tf.tensor2d(terms.ids, [I, T], 'int32');
      const termWeights = tf.tensor3d(terms.weights, [I, T, 1]);
      const vec = (ids: Int32Array, keep: Float32Array) => {
        const t = tf.tensor1d(ids, 'int32');
        return tf.add(
          tf.mul(tf.gather(E, t), tf.mul(tf.gather(tf.tensor1d(hasCf), t), tf.tensor1d(keep)).expandDims(1)),
          tf.sum(tf.mul(tf.gather(W, tf.gather(termIds, t)), tf.gather(termWeights, t)), 1),
        );
      };
      const pu = tf.gather(P, tf.tensor1d(batch.u, 'int32'));
      const vi = vec(batch.i, batch.keepI);
      const vj = vec(batch.j, batch.keepJ);
      const x = tf.sum(tf.mul(pu, tf.sub(vi, vj)), 1);
      const reg = tf.mul(l2, tf.add(tf.sum(tf.square(pu)), tf.add(tf.sum(tf.square(vi)), tf.sum(tf.square(vj)))));
      return tf.add(tf.mean(tf.softplus(tf.neg(x))), tf.div(reg, batch.size)) as ReturnType<Tf['scalar']>;
    }, [w]);
    expect(loss).toBeCloseTo(value.dataSync()[0], 5);
    const expected = Object.values(grads)[0].dataSync();
    expect(expected.length).toBe(mine.length);
    mine.forEach((g, k) => expect(g).toBeCloseTo(expected[k], 5));
    // Item 2 has no interactions (hasCf 0): no row of its own embedding in the gradient, so Adam leaves it be.
    expect(Array.from(out.rows.subarray(0, out.count))).not.toContain(U + 2);
    w.dispose();
  });
});
