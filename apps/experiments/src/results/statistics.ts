import { chiSquareSf, studentTQuantile, studentTTwoSided } from './distributions';

/**
 * The statistics of an experiment from per-variant sums over users (sufficient statistics), as GrowthBook's
 * gbstats computes them: sample means and variances, ratio metrics by the delta method, CUPED (regression
 * adjustment with a θ pooled over the two variants compared), Welch's t-test for absolute and relative lifts,
 * always-valid (sequential) intervals, and the sample-ratio-mismatch chi-square. Where Pulse departs from gbstats
 * on purpose, the comment says so (and apps/experiments/README.md lists it).
 */

/** Σx and Σx² over users. */
export interface Moments {
  sum: number;
  sumSquares: number;
}

export type MetricKind = 'mean' | 'proportion' | 'ratio';

/** One variant's sums for one metric (from the users' values). */
export interface VariantSums {
  users: number;
  /** The per-user value (the numerator of a ratio). */
  main: Moments;
  /** Ratio metrics: the per-user denominator and Σ main × denominator. */
  denominator?: Moments;
  mainDenominatorProducts?: number;
  /** CUPED: the per-user pre-period covariate and Σ main × covariate. */
  covariate?: Moments;
  mainCovariateProducts?: number;
}

/** A variant's statistic: its mean and the variance of its per-user value. */
export interface Statistic {
  n: number;
  mean: number;
  variance: number;
  /** The mean without the CUPED adjustment. */
  unadjustedMean: number;
  unadjustedVariance: number;
}

function sampleMean(n: number, m: Moments): { mean: number; variance: number } {
  const mean = n === 0 ? 0 : m.sum / n;
  const variance = n <= 1 ? 0 : (m.sumSquares - (m.sum * m.sum) / n) / (n - 1);
  return { mean, variance };
}

/** Mean and variance of a per-user value: the sample variance (n − 1), or p(1 − p) for a proportion (as gbstats). */
export function baseStatistic(kind: 'mean' | 'proportion', n: number, m: Moments): { mean: number; variance: number } {
  if (kind === 'proportion') {
    const p = n === 0 ? 0 : m.sum / n;
    return { mean: p, variance: p * (1 - p) };
  }
  return sampleMean(n, m);
}

function covariance(n: number, products: number, a: Moments, b: Moments): number {
  return n <= 1 ? 0 : (products - (a.sum * b.sum) / n) / (n - 1);
}

/** Σ numerator ÷ Σ denominator, and the delta-method variance of its per-user linearisation. */
export function ratioStatistic(s: VariantSums): Statistic {
  const n = s.users;
  const m = sampleMean(n, s.main);
  const d = sampleMean(n, s.denominator!);
  const mean = s.denominator!.sum === 0 ? 0 : s.main.sum / s.denominator!.sum;
  const cov = covariance(n, s.mainDenominatorProducts ?? 0, s.main, s.denominator!);
  const variance =
    d.mean === 0 || n <= 1 ? 0 : m.variance / d.mean ** 2 - (2 * cov * m.mean) / d.mean ** 3 + (m.mean ** 2 * d.variance) / d.mean ** 4;
  return { n, mean, variance, unadjustedMean: mean, unadjustedVariance: variance };
}

/** A variant's statistic without CUPED. */
export function statistic(kind: MetricKind, s: VariantSums): Statistic {
  if (kind === 'ratio') return ratioStatistic(s);
  const b = baseStatistic(kind, s.users, s.main);
  return { n: s.users, mean: b.mean, variance: b.variance, unadjustedMean: b.mean, unadjustedVariance: b.variance };
}

/**
 * CUPED's θ for a pair of variants: the covariance of the metric and the covariate over both variants ÷ the
 * covariate's variance (gbstats' compute_theta); 0 when either has no variance.
 */
export function cupedTheta(kind: 'mean' | 'proportion', a: VariantSums, b: VariantSums): number {
  if (!a.covariate || !b.covariate) return 0;
  const n = a.users + b.users;
  const post: Moments = { sum: a.main.sum + b.main.sum, sumSquares: a.main.sumSquares + b.main.sumSquares };
  const pre: Moments = { sum: a.covariate.sum + b.covariate.sum, sumSquares: a.covariate.sumSquares + b.covariate.sumSquares };
  const postVariance = baseStatistic(kind, n, post).variance;
  const preVariance = sampleMean(n, pre).variance;
  if (preVariance === 0 || postVariance === 0) return 0;
  return covariance(n, (a.mainCovariateProducts ?? 0) + (b.mainCovariateProducts ?? 0), post, pre) / preVariance;
}

/** A variant's statistic with CUPED at θ: mean − θ × pre-mean, variance + θ² var(pre) − 2θ cov. */
export function adjustedStatistic(kind: 'mean' | 'proportion', s: VariantSums, theta: number): Statistic {
  const post = baseStatistic(kind, s.users, s.main);
  const pre = sampleMean(s.users, s.covariate!);
  const cov = covariance(s.users, s.mainCovariateProducts ?? 0, s.main, s.covariate!);
  return {
    n: s.users,
    mean: post.mean - theta * pre.mean,
    variance: s.users <= 1 ? 0 : post.variance + theta ** 2 * pre.variance - 2 * theta * cov,
    unadjustedMean: post.mean,
    unadjustedVariance: post.variance,
  };
}

export interface TestSettings {
  alpha: number;
  sequential: boolean;
  /** GrowthBook's sequential tuning parameter. */
  sequentialTuning: number;
}

export interface LiftResult {
  available: boolean;
  estimate: number;
  ciLower: number;
  ciUpper: number;
  pValue: number;
  standardError: number;
  degreesOfFreedom: number;
}

const UNAVAILABLE: LiftResult = { available: false, estimate: 0, ciLower: 0, ciUpper: 0, pValue: 1, standardError: 0, degreesOfFreedom: 0 };

/** Welch–Satterthwaite degrees of freedom of two variants' means. */
export function welchDegreesOfFreedom(a: Statistic, b: Statistic): number {
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const den = (a.variance > 0 ? va ** 2 / (a.n - 1) : 0) + (b.variance > 0 ? vb ** 2 / (b.n - 1) : 0);
  return (va + vb) ** 2 / den;
}

/**
 * The difference of b (treatment) and a (control), absolute or relative to a's unadjusted mean, with its variance
 * (the delta method for the relative one), tested by Welch's t-test or GrowthBook's always-valid sequential test.
 *
 * Departure from gbstats, on purpose: gbstats gives no result at all when the control's mean is 0 or either
 * variant's variance is 0. Pulse still gives the absolute lift then (Welch's test needs only a positive variance
 * of the difference: a control without any hide and a treatment with some is a real, testable difference); the
 * relative lift keeps gbstats' conditions.
 */
export function lift(a: Statistic, b: Statistic, relative: boolean, settings: TestSettings): LiftResult {
  if (a.n < 2 || b.n < 2) return UNAVAILABLE;
  let estimate: number;
  let variance: number;
  if (relative) {
    if (a.mean === 0 || a.unadjustedMean === 0 || a.variance <= 0 || b.variance <= 0) return UNAVAILABLE;
    estimate = (b.mean - a.mean) / a.unadjustedMean;
    variance = b.variance / (a.unadjustedMean ** 2 * b.n) + (a.variance * b.unadjustedMean ** 2) / (a.unadjustedMean ** 4 * a.n);
  } else {
    estimate = b.mean - a.mean;
    variance = b.variance / b.n + a.variance / a.n;
  }
  if (!(variance > 0) || !Number.isFinite(variance)) return UNAVAILABLE;
  const se = Math.sqrt(variance);
  const dof = welchDegreesOfFreedom(a, b);
  if (settings.sequential) {
    const { halfWidth, pValue } = sequentialTest(estimate, variance, a.n + b.n, settings);
    return {
      available: true,
      estimate,
      ciLower: estimate - halfWidth,
      ciUpper: estimate + halfWidth,
      pValue,
      standardError: se,
      degreesOfFreedom: dof,
    };
  }
  const halfWidth = studentTQuantile(1 - settings.alpha / 2, dof) * se;
  return {
    available: true,
    estimate,
    ciLower: estimate - halfWidth,
    ciUpper: estimate + halfWidth,
    pValue: studentTTwoSided(estimate / se, dof),
    standardError: se,
    degreesOfFreedom: dof,
  };
}

/**
 * GrowthBook's sequential test: the asymptotic confidence sequence of Waudby-Smith et al. (2023, eq. 9 and
 * 155/161 of arXiv:2103.06476v7) with its tuning parameter, valid at every look, so results may be read every day.
 */
export function sequentialTest(
  estimate: number,
  variance: number,
  n: number,
  settings: TestSettings,
): { halfWidth: number; pValue: number } {
  const alpha = settings.alpha;
  const rho = Math.sqrt((-2 * Math.log(alpha) + Math.log(-2 * Math.log(alpha) + 1)) / settings.sequentialTuning);
  const s2 = variance * n;
  const nRho2 = n * rho ** 2;
  const halfWidth = Math.sqrt(s2) * Math.sqrt((2 * (nRho2 + 1) * Math.log(Math.sqrt(nRho2 + 1) / alpha)) / (n * rho) ** 2);
  const st2 = (estimate ** 2 * n) / variance;
  const eValue = Math.exp((rho ** 2 * st2) / (2 * (nRho2 + 1))) / Math.sqrt(nRho2 + 1);
  return { halfWidth, pValue: Math.min(1 / eValue, 1) };
}

/** The sample-ratio-mismatch test: chi-square of the users per variant against the weights (gbstats' check_srm). */
export function sampleRatioMismatch(users: readonly number[], weights: readonly number[]): { chiSquare: number; pValue: number } {
  const total = users.reduce((s, u) => s + u, 0);
  if (total === 0) return { chiSquare: 0, pValue: 1 };
  const totalWeight = weights.reduce((s, w) => s + w, 0);
  let x = 0;
  users.forEach((o, i) => {
    if (weights[i] <= 0) return;
    const e = (weights[i] / totalWeight) * total;
    x += (o - e) ** 2 / e;
  });
  return { chiSquare: x, pValue: chiSquareSf(x, users.length - 1) };
}
