import { join } from 'node:path';
import { Rng } from '@pulse/platform';
import { sortedHas } from '../data/interactions';
import type { LinearFactors } from '../live/fold-in';
import { cosineToAll } from './ials.model';
import type { EpochReport, FitHooks, FitResult, Recommender, TrainingData } from './model';
import { readFloat32, readJson, scorePairsByUser, topScored, writeArray, writeJson } from './model-files';

export interface BprConfig {
  factors: number;
  learningRate: number;
  /** L2 penalty on the user and item vectors of a step. */
  l2: number;
  /** L2 penalty on the item biases. */
  biasL2: number;
  epochs: number;
  initStd: number;
  seed: number;
}

/** Chosen by `recs search` on the validation hold-out of ml-latest-small (docs/decisions/0017-recommender-model-zoo.md). */
export const BPR_DEFAULTS: BprConfig = {
  factors: 64,
  learningRate: 0.05,
  l2: 0.002,
  biasL2: 0,
  epochs: 40,
  initStd: 0.1,
  seed: 42,
};

/**
 * BPR-MF (Rendle et al. 2009): score p_u·q_i + b_i, trained by SGD on −ln σ(s_ui − s_uj) for an observed item i
 * and an item j the user has not interacted with, sampled uniformly; an epoch draws as many triples as there are
 * positives. The step is a few dozen multiply-adds, written as a JS loop (as the reference implementations
 * are hand-written loops): TF.js kernels would cost more in dispatch than the arithmetic. The score is
 * linear in [p_u, 1] with item vectors [q_i, b_i], so serving can fold in recent actions (`linearFactors`).
 */
export class BprModel implements Recommender {
  readonly name = 'bpr' as const;
  readonly config: BprConfig;
  numUsers = 0;
  numItems = 0;
  users: Float32Array = new Float32Array(0);
  items: Float32Array = new Float32Array(0);
  biases: Float32Array = new Float32Array(0);
  private linear?: LinearFactors;

  constructor(config: Partial<BprConfig> = {}) {
    this.config = { ...BPR_DEFAULTS, ...config };
  }

  initialize(numUsers: number, numItems: number): void {
    const { factors: d, initStd, seed } = this.config;
    const rng = new Rng(seed);
    this.numUsers = numUsers;
    this.numItems = numItems;
    this.users = Float32Array.from({ length: numUsers * d }, () => rng.normal() * initStd);
    this.items = Float32Array.from({ length: numItems * d }, () => rng.normal() * initStd);
    this.biases = new Float32Array(numItems);
    this.linear = undefined;
  }

  async fit(data: TrainingData, hooks: FitHooks = {}): Promise<FitResult> {
    this.initialize(data.numUsers, data.numItems);
    const rng = new Rng(this.config.seed + 7);
    const n = data.users.length;
    const losses: number[] = [];
    let seconds = 0;
    for (let epoch = 1; epoch <= this.config.epochs; epoch++) {
      const started = performance.now();
      let lossSum = 0;
      for (let s = 0; s < n; s++) {
        const p = rng.int(n);
        const u = data.users[p];
        lossSum += this.step(u, data.items[p], this.sampleNegative(data, u, rng));
      }
      const loss = lossSum / Math.max(n, 1);
      const epochSeconds = (performance.now() - started) / 1000;
      seconds += epochSeconds;
      losses.push(loss);
      this.linear = undefined;
      hooks.onBatch?.(epoch, 1, 1, loss);
      const report: EpochReport = { epoch, epochs: this.config.epochs, loss, samples: n, seconds: epochSeconds };
      await hooks.onEpoch?.(report);
    }
    const samples = n * this.config.epochs;
    return { epochs: this.config.epochs, samples, seconds, samplesPerSecond: samples / Math.max(seconds, 1e-9), losses };
  }

  private sampleNegative(data: TrainingData, u: number, rng: Rng): number {
    const mine = data.byUser.items.subarray(data.byUser.offsets[u], data.byUser.offsets[u + 1]);
    let j = rng.int(data.numItems);
    if (mine.length >= data.numItems) return j;
    while (sortedHas(mine, j)) j = rng.int(data.numItems);
    return j;
  }

  /** The loss −ln σ(x), x = s_ui − s_uj, and its gradients: d/dp_u = −σ(−x)(q_i − q_j), d/dq_i = −σ(−x)p_u, … */
  gradients(
    u: number,
    i: number,
    j: number,
  ): { loss: number; user: Float64Array; pos: Float64Array; neg: Float64Array; posBias: number; negBias: number } {
    const d = this.config.factors;
    const { users: P, items: Q, biases: b } = this;
    let x = b[i] - b[j];
    for (let f = 0; f < d; f++) x += P[u * d + f] * (Q[i * d + f] - Q[j * d + f]);
    const g = 1 / (1 + Math.exp(x)); // σ(−x)
    const user = new Float64Array(d);
    const pos = new Float64Array(d);
    const neg = new Float64Array(d);
    for (let f = 0; f < d; f++) {
      user[f] = -g * (Q[i * d + f] - Q[j * d + f]);
      pos[f] = -g * P[u * d + f];
      neg[f] = g * P[u * d + f];
    }
    // −ln σ(x) = softplus(−x), computed stably.
    const loss = Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    return { loss, user, pos, neg, posBias: -g, negBias: g };
  }

  /** One SGD step on the triple (u, i, j) with the L2 penalties; returns the triple's loss before the step. */
  private step(u: number, i: number, j: number): number {
    const d = this.config.factors;
    const { learningRate: lr, l2, biasL2 } = this.config;
    const { users: P, items: Q, biases: b } = this;
    const uo = u * d;
    const io = i * d;
    const jo = j * d;
    let x = b[i] - b[j];
    for (let f = 0; f < d; f++) x += P[uo + f] * (Q[io + f] - Q[jo + f]);
    const g = 1 / (1 + Math.exp(x));
    for (let f = 0; f < d; f++) {
      const pu = P[uo + f];
      const qi = Q[io + f];
      const qj = Q[jo + f];
      P[uo + f] = pu + lr * (g * (qi - qj) - l2 * pu);
      Q[io + f] = qi + lr * (g * pu - l2 * qi);
      Q[jo + f] = qj + lr * (-g * pu - l2 * qj);
    }
    b[i] += lr * (g - biasL2 * b[i]);
    b[j] += lr * (-g - biasL2 * b[j]);
    return Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
  }

  score(u: number, i: number): number {
    const d = this.config.factors;
    let s = this.biases[i];
    for (let f = 0; f < d; f++) s += this.users[u * d + f] * this.items[i * d + f];
    return s;
  }

  scoreUser(user: number): Float32Array {
    const out = new Float32Array(this.numItems);
    if (user < 0 || user >= this.numUsers) return Float32Array.from(this.biases);
    for (let i = 0; i < this.numItems; i++) out[i] = this.score(user, i);
    return out;
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    return scorePairsByUser((u) => this.scoreUser(u), users, items);
  }

  /**
   * Item vectors [q_i, b_i] and user vectors [p_u, 1]: the score is their dot product. Fold-in treats the last
   * coordinate as one more unknown, pulled towards 1 for a known user (towards 0 for a new one).
   */
  linearFactors(): LinearFactors {
    const d = this.config.factors;
    if (this.linear) return this.linear;
    const dim = d + 1;
    const itemVectors = new Float32Array(this.numItems * dim);
    for (let i = 0; i < this.numItems; i++) {
      itemVectors.set(this.items.subarray(i * d, (i + 1) * d), i * dim);
      itemVectors[i * dim + d] = this.biases[i];
    }
    this.linear = {
      dim,
      numItems: this.numItems,
      itemVectors,
      bias: 0,
      userVector: (user) => {
        const v = new Float32Array(dim);
        v.set(this.users.subarray(user * d, (user + 1) * d));
        v[d] = 1;
        return v;
      },
    };
    return this.linear;
  }

  similarItems(item: number, k: number): { items: Int32Array; scores: Float32Array } {
    return topScored(cosineToAll(this.items, this.numItems, this.config.factors, item), k, item);
  }

  async save(dir: string): Promise<void> {
    writeJson(dir, 'bpr', { config: this.config, numUsers: this.numUsers, numItems: this.numItems });
    writeArray(join(dir, 'bpr.users.bin'), this.users);
    writeArray(join(dir, 'bpr.items.bin'), this.items);
    writeArray(join(dir, 'bpr.biases.bin'), this.biases);
  }

  static load(dir: string): BprModel {
    const meta = readJson<{ config: BprConfig; numUsers: number; numItems: number }>(dir, 'bpr');
    const model = new BprModel(meta.config);
    model.numUsers = meta.numUsers;
    model.numItems = meta.numItems;
    model.users = readFloat32(join(dir, 'bpr.users.bin'));
    model.items = readFloat32(join(dir, 'bpr.items.bin'));
    model.biases = readFloat32(join(dir, 'bpr.biases.bin'));
    return model;
  }

  dispose(): void {
    // Plain arrays only: nothing to release.
  }
}
