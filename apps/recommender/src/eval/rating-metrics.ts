import type { Interactions } from '../data/interactions';

/** Errors of rating predictions on held-out explicit ratings. */
export interface RatingMetrics {
  model: 'global-mean' | 'bias-baseline';
  ratings: number;
  mae: number;
  rmse: number;
}

/** Whether the ratings carry information (explicit feedback), i.e. are not all the same value. */
export function hasExplicitRatings(data: Interactions): boolean {
  for (let k = 1; k < data.ratings.length; k++) if (data.ratings[k] !== data.ratings[0]) return true;
  return false;
}

/**
 * MAE and RMSE of two rating predictors on `test`: the training mean, and the baseline predictor
 * μ + b_u + b_i with regularised user and item biases fitted by alternating least squares (Koren 2010,
 * §2.1), clipped to the training ratings' range. The recommenders are trained on implicit feedback and
 * predict no ratings; these are the reference points for the explicit ratings of the same split.
 */
export function ratingMetrics(
  train: Interactions,
  test: { users: ArrayLike<number>; items: ArrayLike<number>; ratings: ArrayLike<number> },
  options: { lambdaUser?: number; lambdaItem?: number; iterations?: number } = {},
): RatingMetrics[] {
  const lambdaUser = options.lambdaUser ?? 10;
  const lambdaItem = options.lambdaItem ?? 25;
  const iterations = options.iterations ?? 10;
  const numUsers = train.userIds.size;
  const numItems = train.itemIds.size;
  const n = train.ratings.length;
  let mu = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < n; k++) {
    mu += train.ratings[k];
    lo = Math.min(lo, train.ratings[k]);
    hi = Math.max(hi, train.ratings[k]);
  }
  mu /= Math.max(n, 1);
  const bu = new Float64Array(numUsers);
  const bi = new Float64Array(numItems);
  const sumU = new Float64Array(numUsers);
  const cntU = new Float64Array(numUsers);
  const sumI = new Float64Array(numItems);
  const cntI = new Float64Array(numItems);
  for (let it = 0; it < iterations; it++) {
    sumI.fill(0);
    cntI.fill(0);
    for (let k = 0; k < n; k++) {
      sumI[train.items[k]] += train.ratings[k] - mu - bu[train.users[k]];
      cntI[train.items[k]] += 1;
    }
    for (let i = 0; i < numItems; i++) bi[i] = sumI[i] / (lambdaItem + cntI[i]);
    sumU.fill(0);
    cntU.fill(0);
    for (let k = 0; k < n; k++) {
      sumU[train.users[k]] += train.ratings[k] - mu - bi[train.items[k]];
      cntU[train.users[k]] += 1;
    }
    for (let u = 0; u < numUsers; u++) bu[u] = sumU[u] / (lambdaUser + cntU[u]);
  }
  const errors = (predict: (u: number, i: number) => number): { mae: number; rmse: number } => {
    let abs = 0;
    let sq = 0;
    for (let k = 0; k < test.ratings.length; k++) {
      const e = predict(test.users[k], test.items[k]) - test.ratings[k];
      abs += Math.abs(e);
      sq += e * e;
    }
    const m = Math.max(test.ratings.length, 1);
    return { mae: abs / m, rmse: Math.sqrt(sq / m) };
  };
  const clip = (x: number) => Math.min(hi, Math.max(lo, x));
  return [
    { model: 'global-mean', ratings: test.ratings.length, ...errors(() => mu) },
    { model: 'bias-baseline', ratings: test.ratings.length, ...errors((u, i) => clip(mu + (bu[u] ?? 0) + (bi[i] ?? 0))) },
  ];
}
