import { dotScores } from '../models/dot-scores';

/**
 * A model whose score is linear in the user's vector: score(u, i) = p_u · v_i + b (MF: v_i = q_i; GMF:
 * v_i = q_i ⊙ h). For those, a user's vector can be solved from a few items in closed form ("fold-in", as
 * ALS does for a new user), so what the user did seconds ago moves their whole ranking, not just a filter.
 */
export interface LinearFactors {
  dim: number;
  numItems: number;
  /** [numItems × dim], row-major. */
  itemVectors: Float32Array;
  bias: number;
  /** The trained vector of a known user. */
  userVector(user: number): Float32Array;
}

/** One observed item for the fold-in: `target` is the logit the user's vector should give it, `weight` how much that counts. */
export interface FoldInObservation {
  item: number;
  target: number;
  weight: number;
}

/** The mean outer product of the item vectors, (1/N) Σ v_i v_iᵀ ([dim × dim]), computed once per model. */
const gramians = new WeakMap<LinearFactors, Float64Array>();

export function itemGramian(factors: LinearFactors): Float64Array {
  let g = gramians.get(factors);
  if (g) return g;
  const d = factors.dim;
  g = new Float64Array(d * d);
  const v = factors.itemVectors;
  for (let i = 0; i < factors.numItems; i++) {
    const o = i * d;
    for (let r = 0; r < d; r++) {
      const x = v[o + r];
      if (x === 0) continue;
      for (let c = r; c < d; c++) g[r * d + c] += x * v[o + c];
    }
  }
  const n = Math.max(1, factors.numItems);
  for (let r = 0; r < d; r++)
    for (let c = r; c < d; c++) {
      g[r * d + c] /= n;
      g[c * d + r] = g[r * d + c];
    }
  gramians.set(factors, g);
  return g;
}

/**
 * The user vector p minimising
 *
 *   Σ_obs w_i (y_i − b − p·v_i)²  +  λ‖p − p₀‖²  +  γ · (1/N) Σ_all items (p·v_j − p₀·v_j)²
 *
 * solved exactly from the dim × dim normal equations. The first term fits what the user just did; the second
 * keeps p near the trained vector p₀ (zero for a user the model never saw); the third — the "everything else"
 * term of implicit-feedback ALS (Hu, Koren & Volinsky 2008), written as a prior — asks the scores of all other
 * items to move as little as possible: (p − p₀)ᵀ G (p − p₀) with G the items' Gramian. Without it, a few likes
 * move p mostly along the direction every item shares (popularity): the new user gets the platform's most
 * popular posts whatever they liked. With it, moving along a direction common to all items is expensive and
 * the likes move p towards what sets the liked items apart. `gramianWeight` is γ (0 leaves the term out).
 */
export function foldInUser(
  factors: LinearFactors,
  observations: readonly FoldInObservation[],
  lambda: number,
  prior?: Float32Array,
  gramianWeight = 0,
): Float32Array {
  const d = factors.dim;
  const a = new Float64Array(d * d);
  const rhs = new Float64Array(d);
  for (let j = 0; j < d; j++) a[j * d + j] = lambda;
  if (gramianWeight > 0) {
    const g = itemGramian(factors);
    for (let k = 0; k < d * d; k++) a[k] += gramianWeight * g[k];
  }
  // (λI + γG) p₀: the prior's pull, before the observations are added to A.
  if (prior)
    for (let r = 0; r < d; r++) {
      let t = 0;
      for (let c = 0; c < d; c++) t += a[r * d + c] * prior[c];
      rhs[r] = t;
    }
  for (const o of observations) {
    if (o.item < 0 || o.item >= factors.numItems || !(o.weight > 0)) continue;
    const v = factors.itemVectors.subarray(o.item * d, o.item * d + d);
    const y = o.target - factors.bias;
    for (let r = 0; r < d; r++) {
      const wv = o.weight * v[r];
      rhs[r] += wv * y;
      for (let c = 0; c < d; c++) a[r * d + c] += wv * v[c];
    }
  }
  return Float32Array.from(solve(a, rhs, d));
}

/** Scores of every item for a user vector: V p + b. */
export function scoreAllItems(factors: LinearFactors, p: Float32Array): Float32Array {
  return dotScores(factors.itemVectors, factors.numItems, factors.dim, p, 0, factors.bias);
}

/** Solves A x = b for a symmetric positive definite A (Cholesky); A and b are overwritten. */
export function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j];
    for (let k = 0; k < j; k++) s -= a[j * n + k] * a[j * n + k];
    if (!(s > 0)) throw new Error('fold-in: the system is not positive definite (lambda must be > 0)');
    const l = Math.sqrt(s);
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j];
      for (let k = 0; k < j; k++) t -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = t / l;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t = b[i];
    for (let k = 0; k < i; k++) t -= a[i * n + k] * y[k];
    y[i] = t / a[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let t = y[i];
    for (let k = i + 1; k < n; k++) t -= a[k * n + i] * x[k];
    x[i] = t / a[i * n + i];
  }
  return x;
}
