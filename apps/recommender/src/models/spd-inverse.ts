import type * as tfTypes from '@tensorflow/tfjs';
import { tfLoaded } from '../tf/tf-backend';

type Tensor2D = tfTypes.Tensor2D;

/** Below this size a block is inverted in JS (Cholesky in float64); above, split in two. */
const LEAF = 384;

/**
 * The inverse of a symmetric positive definite matrix, by block recursion on its Schur complement:
 * for M = [[A, B], [Bᵀ, D]], with X = A⁻¹B and S = D − BᵀX,
 * M⁻¹ = [[A⁻¹ + X S⁻¹ Xᵀ, −X S⁻¹], [−(X S⁻¹)ᵀ, S⁻¹]].
 * All the O(n³) work is four matrix products per level, which TF.js runs on its native kernels (tfjs-node:
 * Eigen's multi-threaded GEMM), about n³ flops in all; the leaves are small Cholesky inversions.
 * TF.js has no matrix inverse or Cholesky op, hence this.
 */
export function invertSpd(m: Tensor2D): Tensor2D {
  const { tf } = tfLoaded();
  const n = m.shape[0];
  if (n <= LEAF) return tf.tensor2d(Float32Array.from(invertSpdSmall(Float64Array.from(m.dataSync()), n)), [n, n]);
  const k = Math.ceil(n / 2);
  const r = n - k;
  return tf.tidy(() => {
    const a = m.slice([0, 0], [k, k]) as Tensor2D;
    const b = m.slice([0, k], [k, r]) as Tensor2D;
    const d = m.slice([k, k], [r, r]) as Tensor2D;
    const ai = invertSpd(a);
    const x = tf.matMul(ai, b);
    const s = tf.sub(d, tf.matMul(b, x, true, false)) as Tensor2D;
    // Symmetrise: rounding leaves S slightly asymmetric, and its inverse's leaves assume symmetry.
    const si = invertSpd(tf.div(tf.add(s, s.transpose()), 2) as Tensor2D);
    const y = tf.matMul(x, si);
    const topLeft = tf.add(ai, tf.matMul(y, x, false, true));
    const top = tf.concat([topLeft, tf.neg(y)], 1);
    const bottom = tf.concat([tf.neg(y).transpose(), si], 1);
    return tf.concat([top, bottom], 0) as Tensor2D;
  });
}

/** The inverse of a small SPD matrix (row-major, n × n) by Cholesky, in float64. */
export function invertSpdSmall(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j];
    for (let k = 0; k < j; k++) s -= l[j * n + k] * l[j * n + k];
    if (!(s > 0)) throw new Error('the matrix is not positive definite (is the regularisation > 0?)');
    const d = Math.sqrt(s);
    l[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j];
      for (let k = 0; k < j; k++) t -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = t / d;
    }
  }
  // L⁻¹ (lower triangular), then A⁻¹ = L⁻ᵀ L⁻¹.
  const li = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    li[j * n + j] = 1 / l[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let t = 0;
      for (let k = j; k < i; k++) t -= l[i * n + k] * li[k * n + j];
      li[i * n + j] = t / l[i * n + i];
    }
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let t = 0;
      for (let k = i; k < n; k++) t += li[k * n + i] * li[k * n + j];
      out[i * n + j] = t;
      out[j * n + i] = t;
    }
  }
  return out;
}
