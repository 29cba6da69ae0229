import { join } from 'node:path';
import { IdMap } from '../data/id-map';
import type { Interactions } from '../data/interactions';
import type { NcfDataset } from '../data/readers';
import { validationSplit } from '../data/split';
import { type FitHooks, type FitResult, type ModelName, type Recommender, type TrainingData, trainingData } from './model';
import { readJson, scorePairsByUser, topScored, writeJson } from './model-files';
import { evaluateSampled } from '../eval/metrics';

export interface EnsembleConfig {
  /** The base models, comma-separated. */
  members: string;
  /** L2 penalty of the logistic-regression blender. */
  blenderL2: number;
  seed: number;
}

/** Chosen on the validation hold-out of ml-latest-small (docs/decisions/0017-recommender-model-zoo.md). */
export const ENSEMBLE_DEFAULTS: EnsembleConfig = { members: 'ease,ials,itemknn', blenderL2: 0.001, seed: 42 };

/** Makes an untrained base model by name; loads a saved one. */
export interface MemberFactory {
  create(name: ModelName): Recommender;
  load(dir: string, name: ModelName): Promise<Recommender>;
}

/**
 * Stacking (Wolpert 1992; the blends of the Netflix Prize, LightGBM-style stacking): base models are trained
 * on the training part less each user's latest interaction (the validation hold-out), their scores of the
 * held-out item and its 99 sampled negatives are the features of a logistic-regression blender, and the
 * bases are then trained again on the whole training part. A base's scores are standardised per user (z-score
 * over all items) before blending, at validation and at serving alike, so scales of different models mix.
 */
export class EnsembleModel implements Recommender {
  readonly name = 'ensemble' as const;
  readonly config: EnsembleConfig;
  members: Recommender[] = [];
  numItems = 0;
  /** The blender's weight per member (standardised scores). */
  weights: number[] = [];
  /** Validation figures of the blend and of each member (HR@10 of the 1 + 99 protocol), from fit. */
  validation: Record<string, number> = {};

  constructor(
    config: Partial<EnsembleConfig>,
    private readonly factory: MemberFactory,
  ) {
    this.config = { ...ENSEMBLE_DEFAULTS, ...config };
  }

  get memberNames(): ModelName[] {
    return this.config.members
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean) as ModelName[];
  }

  async fit(data: TrainingData, hooks: FitHooks = {}): Promise<FitResult> {
    const started = performance.now();
    this.numItems = data.numItems;
    const valSplit = validationSplit(interactionsOf(data), { seed: this.config.seed });
    const valTrain = trainingData(valSplit.train);
    valTrain.itemIds = data.itemIds;
    const onValidation: Recommender[] = [];
    let samples = 0;
    for (const name of this.memberNames) {
      const model = this.factory.create(name);
      samples += (await model.fit(valTrain, { onBatch: hooks.onBatch })).samples;
      onValidation.push(model);
    }
    this.weights = fitBlender(onValidation, valSplit, this.config.blenderL2);
    this.use(onValidation, this.weights, data.numItems);
    this.validation = { 'val_hr@10': evaluateSampled(this, valSplit).hr };
    onValidation.forEach((m, k) => (this.validation[`val_hr@10_${this.memberNames[k]}`] = evaluateSampled(m, valSplit).hr));
    onValidation.forEach((m) => m.dispose());
    this.members = [];
    for (const name of this.memberNames) {
      const model = this.factory.create(name);
      samples += (await model.fit(data, { onBatch: hooks.onBatch })).samples;
      this.members.push(model);
    }
    const seconds = (performance.now() - started) / 1000;
    await hooks.onEpoch?.({ epoch: 1, epochs: 1, loss: NaN, samples, seconds });
    return { epochs: 1, samples, seconds, samplesPerSecond: 0, losses: [] };
  }

  /** Uses trained members and blender weights (an evaluation run that trained the members already). */
  use(members: Recommender[], weights: number[], numItems: number): void {
    this.members = members;
    this.weights = weights;
    this.numItems = numItems;
  }

  scoreUser(user: number): Float32Array {
    return blend(
      this.members.map((m) => m.scoreUser(user)),
      this.weights,
    );
  }

  /** Sequence members score the recent items; the others score the user as trained. */
  scoreSequence(recent: readonly number[]): Float32Array {
    return blend(
      this.members.map((m) => (m.scoreSequence ? m.scoreSequence(recent) : new Float32Array(this.numItems))),
      this.weights,
    );
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    return scorePairsByUser((u) => this.scoreUser(u), users, items);
  }

  /** The blend of the members' similarities, standardised. */
  similarItems(item: number, k: number): { items: Int32Array; scores: Float32Array } {
    const rows = this.members.map((m) => {
      const similar = m.similarItems(item, 200);
      const row = new Float32Array(this.numItems);
      similar.items.forEach((i, r) => (row[i] = similar.scores[r]));
      return row;
    });
    return topScored(blend(rows, this.weights), k, item);
  }

  async save(dir: string): Promise<void> {
    writeJson(dir, 'ensemble', { config: this.config, numItems: this.numItems, weights: this.weights, validation: this.validation });
    for (const [k, member] of this.members.entries()) await member.save(join(dir, `member-${k}-${member.name}`));
  }

  static async load(dir: string, factory: MemberFactory): Promise<EnsembleModel> {
    const meta = readJson<{ config: EnsembleConfig; numItems: number; weights: number[]; validation: Record<string, number> }>(
      dir,
      'ensemble',
    );
    const model = new EnsembleModel(meta.config, factory);
    const members: Recommender[] = [];
    for (const [k, name] of model.memberNames.entries()) members.push(await factory.load(join(dir, `member-${k}-${name}`), name));
    model.use(members, meta.weights, meta.numItems);
    model.validation = meta.validation;
    return model;
  }

  dispose(): void {
    this.members.forEach((m) => m.dispose());
    this.members = [];
  }
}

/** The training data as interactions again (the validation split works on interactions). */
export function interactionsOf(data: TrainingData): Interactions {
  const { sequences } = data;
  const n = sequences.items.length;
  const users = new Int32Array(n);
  for (let u = 0; u < data.numUsers; u++) users.fill(u, sequences.offsets[u], sequences.offsets[u + 1]);
  return {
    users,
    items: sequences.items.slice(),
    ratings: new Float32Array(n).fill(1),
    timestamps: sequences.timestamps.slice(),
    userIds: IdMap.from(Array.from({ length: data.numUsers }, (_, u) => String(u))),
    itemIds: data.itemIds ?? IdMap.from(Array.from({ length: data.numItems }, (_, i) => String(i))),
  };
}

/** A row standardised over all items: (x − mean) / std. */
export function standardise(row: Float32Array): Float32Array {
  let mean = 0;
  for (const x of row) mean += x;
  mean /= Math.max(row.length, 1);
  let variance = 0;
  for (const x of row) variance += (x - mean) ** 2;
  const std = Math.sqrt(variance / Math.max(row.length, 1)) || 1;
  return Float32Array.from(row, (x) => (x - mean) / std);
}

function blend(rows: Float32Array[], weights: number[]): Float32Array {
  const out = new Float32Array(rows[0]?.length ?? 0);
  rows.forEach((row, k) => {
    const z = standardise(row);
    for (let i = 0; i < out.length; i++) out[i] += weights[k] * z[i];
  });
  return out;
}

/** Per validation user: each member's standardised scores of the held-out item (first) and its negatives. */
function validationFeatures(models: Recommender[], split: NcfDataset): { x: Float32Array[]; y: Float32Array; groups: number[] } {
  const x: Float32Array[] = models.map(() => new Float32Array(0));
  const columns: number[][] = models.map(() => []);
  const y: number[] = [];
  const groups: number[] = [];
  split.testItem.forEach((item, u) => {
    if (item < 0) return;
    const candidates = [item, ...split.negatives[u]];
    models.forEach((m, k) => {
      const z = standardise(m.scoreUser(u));
      for (const c of candidates) columns[k].push(z[c]);
    });
    candidates.forEach((_, n) => y.push(n === 0 ? 1 : 0));
    groups.push(candidates.length);
  });
  columns.forEach((c, k) => (x[k] = Float32Array.from(c)));
  return { x, y: Float32Array.from(y), groups };
}

/**
 * Logistic regression of "is the held-out item" on the members' standardised scores, by gradient descent on
 * the mean binary cross-entropy + l2‖w‖²; returns the member weights (the intercept does not change a ranking).
 */
export function fitBlender(models: Recommender[], split: NcfDataset, l2: number): number[] {
  const { x, y } = validationFeatures(models, split);
  return logisticRegression(x, y, l2);
}

export function logisticRegression(x: Float32Array[], y: Float32Array, l2: number, iterations = 500, learningRate = 0.5): number[] {
  const k = x.length;
  const n = y.length;
  const w = new Float64Array(k);
  let b = 0;
  // Positives are 1 in 100: weigh them so both classes count alike, as the ranking cares about the positive.
  const positives = y.reduce((s, v) => s + v, 0);
  const wPos = n / Math.max(2 * positives, 1);
  const wNeg = n / Math.max(2 * (n - positives), 1);
  for (let it = 0; it < iterations; it++) {
    const gw = new Float64Array(k);
    let gb = 0;
    for (let r = 0; r < n; r++) {
      let z = b;
      for (let c = 0; c < k; c++) z += w[c] * x[c][r];
      const weight = y[r] > 0 ? wPos : wNeg;
      const g = weight * (1 / (1 + Math.exp(-z)) - y[r]);
      for (let c = 0; c < k; c++) gw[c] += g * x[c][r];
      gb += g;
    }
    for (let c = 0; c < k; c++) w[c] -= learningRate * (gw[c] / n + 2 * l2 * w[c]);
    b -= learningRate * (gb / n);
  }
  return Array.from(w);
}
