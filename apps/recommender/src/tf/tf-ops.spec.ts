import { loadTf, type Tf } from './tf-backend';
import { layerNorm, relu } from './tf-ops';

let tf: Tf;

beforeAll(async () => {
  tf = (await loadTf('auto')).tf;
});

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, digits = 4): void {
  expect(a.length).toBe(b.length);
  Array.from(a).forEach((x, k) => expect(x).toBeCloseTo(b[k], digits));
}

describe('ops with written-out gradients', () => {
  it('layerNorm: value and gradients equal autodiff of the composed ops', () => {
    const x = tf.randomNormal([3, 4, 6], 0.5, 2, 'float32', 7);
    const gamma = tf.randomNormal([6], 1, 0.3, 'float32', 8);
    const beta = tf.randomNormal([6], 0, 0.3, 'float32', 9);
    // A weighting of the outputs, so the gradient is not the trivial one of a plain sum.
    const weights = tf.randomNormal([3, 4, 6], 0, 1, 'float32', 10);
    const composed = (a: Tensor, g: Tensor, b: Tensor) => {
      const { mean, variance } = tf.moments(a, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-8))), g), b);
    };
    const mine = tf.grads((a, g, b) => tf.sum(tf.mul(layerNorm(tf, a, g, b), weights)))([x, gamma, beta]);
    const theirs = tf.grads((a, g, b) => tf.sum(tf.mul(composed(a, g, b), weights)))([x, gamma, beta]);
    expectClose(layerNorm(tf, x, gamma, beta).dataSync(), composed(x, gamma, beta).dataSync());
    mine.forEach((g, k) => expectClose(g.dataSync(), theirs[k].dataSync()));
  });

  it('relu: value and gradient equal tf.relu', () => {
    const x = tf.tensor1d([-2, -0.5, 0.25, 3, -1e-3, 7]);
    const w = tf.tensor1d([1, 2, 3, 4, 5, 6]);
    expectClose(relu(tf, x).dataSync(), tf.relu(x).dataSync());
    const mine = tf.grad((a) => tf.sum(tf.mul(relu(tf, a), w)))(x);
    expect(Array.from(mine.dataSync())).toEqual([0, 0, 3, 4, 0, 6]);
  });
});

type Tensor = import('@tensorflow/tfjs').Tensor;
