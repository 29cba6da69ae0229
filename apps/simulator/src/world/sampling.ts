import type { Rng } from '@pulse/platform';

/** Draws indexes with probability proportional to fixed weights (cumulative sums and a binary search). */
export class WeightedSampler {
  private readonly cumulative: Float64Array;

  constructor(weights: ArrayLike<number>) {
    this.cumulative = new Float64Array(weights.length);
    let sum = 0;
    for (let i = 0; i < weights.length; i++) {
      sum += Math.max(0, weights[i]);
      this.cumulative[i] = sum;
    }
    if (!(sum > 0)) throw new Error('WeightedSampler needs a positive weight');
  }

  draw(rng: Rng): number {
    const x = rng.next() * this.cumulative[this.cumulative.length - 1];
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** One index drawn with probability proportional to `weights` (a linear scan: for short arrays). */
export function drawIndex(rng: Rng, weights: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += weights[i];
  let x = rng.next() * sum;
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i];
    if (x < 0) return i;
  }
  return weights.length - 1;
}

/** Pareto with minimum 1 and tail index `alpha` (smaller: heavier tail), capped at `max`. */
export function pareto(rng: Rng, alpha: number, max: number): number {
  return Math.min(max, Math.pow(1 - rng.next(), -1 / alpha));
}

/** exp(mu + sigma·N(0, 1)). */
export function logNormal(rng: Rng, mu: number, sigma: number): number {
  return Math.exp(mu + sigma * rng.normal());
}
