import { BUCKETS, bucketOf } from './hash';

/** A variant as assignment needs it: a name and a weight in percent (the weights of an experiment sum to 100). */
export interface AssignableVariant {
  name: string;
  weight: number;
}

/**
 * A running experiment as assignment needs it. The fields match `pulse.experiments.v1.Experiment`, so the
 * messages of ListExperiments can be passed as they are.
 */
export interface AssignableExperiment {
  id: string;
  /** Experiments of one layer own disjoint bucket ranges of it: a user is in at most one of them. */
  layer: string;
  /** Seed of the variant split; the experiment id unless chosen otherwise. */
  salt: string;
  /** The layer buckets the experiment owns, [start, end) of 0..10000; absent or empty: nobody. */
  buckets?: { start: number; end: number };
  variants: readonly AssignableVariant[];
}

export interface Assignment<E extends AssignableExperiment = AssignableExperiment> {
  experiment: E;
  variant: E['variants'][number];
  /** The user's bucket in the layer (0..9999). */
  layerBucket: number;
  /** The user's bucket in the experiment's variant split (0..9999). */
  variantBucket: number;
}

/** Seed of a layer's buckets: `__` + the layer name (as GrowthBook seeds its namespaces). */
export function layerSeed(layer: string): string {
  return `__${layer}`;
}

/** The user's bucket in a layer, 0..9999. */
export function layerBucket(layer: string, userId: string): number {
  return bucketOf(layerSeed(layer), userId);
}

/** The user's bucket in an experiment's variant split, 0..9999 (independent of the layer bucket). */
export function variantBucket(salt: string, userId: string): number {
  return bucketOf(salt, userId);
}

/**
 * Upper bounds (exclusive) of each variant's share of the 10,000 variant buckets, from weights in percent:
 * the cumulative weight rounded to a bucket, so the last bound is 10,000 when the weights sum to 100.
 */
export function variantBounds(weights: readonly number[]): number[] {
  let cumulative = 0;
  return weights.map((w) => {
    cumulative += w;
    return Math.min(BUCKETS, Math.round((cumulative * BUCKETS) / 100));
  });
}

/** The index of the variant a variant bucket falls in, or -1 past the last bound (weights below 100). */
export function chooseVariant(weights: readonly number[], bucket: number): number {
  const bounds = variantBounds(weights);
  return bounds.findIndex((bound) => bucket < bound);
}

/** Whether a layer bucket falls in an experiment's range. */
export function inBuckets(range: { start: number; end: number } | undefined, bucket: number): boolean {
  return range !== undefined && bucket >= range.start && bucket < range.end;
}

/**
 * The variant of one experiment for a user, or null when the user is outside the experiment's buckets.
 * A pure function of (layer, salt, buckets, weights, user id): the same on every replica, after any restart.
 */
export function assignInExperiment<E extends AssignableExperiment>(experiment: E, userId: string): Assignment<E> | null {
  const lb = layerBucket(experiment.layer, userId);
  if (!inBuckets(experiment.buckets, lb)) return null;
  const vb = variantBucket(experiment.salt, userId);
  const index = chooseVariant(
    experiment.variants.map((v) => v.weight),
    vb,
  );
  if (index < 0) return null;
  return { experiment, variant: experiment.variants[index], layerBucket: lb, variantBucket: vb };
}

/**
 * The one experiment and variant a user's recommendation list belongs to, among the running experiments, or
 * null for the default. Layers are looked at in name order (then experiments by id); the first layer whose
 * running experiment owns the user's bucket decides. Within a layer the ranges are disjoint, so at most one
 * experiment can claim the user there; a list carries at most one experiment.
 */
export function assignUser<E extends AssignableExperiment>(running: readonly E[], userId: string): Assignment<E> | null {
  const ordered = [...running].sort((a, b) => compare(a.layer, b.layer) || compare(a.id, b.id));
  for (const experiment of ordered) {
    const assignment = assignInExperiment(experiment, userId);
    if (assignment) return assignment;
  }
  return null;
}

/** Whether two bucket ranges share a bucket. */
export function rangesOverlap(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start < b.end && b.start < a.end && a.start < a.end && b.start < b.end;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
