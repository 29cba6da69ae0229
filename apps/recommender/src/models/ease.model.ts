import { join } from 'node:path';
import type { UserItems } from '../data/interactions';
import { tfLoaded } from '../tf/tf-backend';
import type { FitResult, Recommender, TrainingData } from './model';
import {
  closedFormFit,
  readFloat32,
  readInt32,
  readJson,
  readUserItems,
  scorePairsByUser,
  topScored,
  writeArray,
  writeJson,
  writeUserItems,
} from './model-files';
import { invertSpd } from './spd-inverse';

export interface EaseConfig {
  /** λ: the L2 penalty on the item-item weights, the model's one hyperparameter (`--l2`). */
  l2: number;
}

/** λ chosen by `recs search` on the validation hold-out of ml-latest-small (docs/decisions/0017-recommender-model-zoo.md). */
export const EASE_DEFAULTS: EaseConfig = { l2: 1000 };

/**
 * EASE^R (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"): an item-item weight matrix B with
 * a zero diagonal minimising ‖X − XB‖² + λ‖B‖², in closed form: P = (XᵀX + λI)⁻¹, B_ij = −P_ij / P_jj. A user's
 * score for item j is Σ_{i ∈ user's items} B_ij. The matrix is dense: 4·n² bytes in float32 (MovieLens
 * ml-latest-small, 9,724 items: 378 MB in memory and on disk), and the inverse costs ~n³ flops (TF.js
 * matrix products, spd-inverse.ts). Only items with training interactions take part; the others score 0.
 */
export class EaseModel implements Recommender {
  readonly name = 'ease' as const;
  readonly config: EaseConfig;
  private numItems = 0;
  /** The items with interactions (index into `weights`), and each item's position among them (-1: none). */
  private active: Int32Array = new Int32Array(0);
  private position: Int32Array = new Int32Array(0);
  /** B over the active items, row-major [active × active]. */
  private weights: Float32Array = new Float32Array(0);
  private byUser: UserItems = { offsets: new Int32Array(1), items: new Int32Array(0) };

  constructor(config: Partial<EaseConfig> = {}) {
    this.config = { ...EASE_DEFAULTS, ...config };
    if (!(this.config.l2 > 0)) throw new RangeError('ease: l2 (λ) must be > 0');
  }

  async fit(data: TrainingData): Promise<FitResult> {
    const started = performance.now();
    const { tf } = tfLoaded();
    const { numItems, numUsers, byUser } = data;
    const position = new Int32Array(numItems).fill(-1);
    const active: number[] = [];
    for (const i of byUser.items) if (position[i] < 0) position[i] = 1;
    for (let i = 0; i < numItems; i++) if (position[i] > 0) position[i] = active.push(i) - 1;
    const n = active.length;
    // G = XᵀX + λI, accumulated over chunks of users (X is users × active items, 0/1).
    let gram = tf.zeros([n, n]) as ReturnType<typeof tf.zeros>;
    const chunk = Math.max(1, Math.floor(2 ** 24 / Math.max(n, 1)));
    for (let start = 0; start < numUsers; start += chunk) {
      const end = Math.min(numUsers, start + chunk);
      const x = new Float32Array((end - start) * n);
      for (let u = start; u < end; u++)
        for (let p = byUser.offsets[u]; p < byUser.offsets[u + 1]; p++) x[(u - start) * n + position[byUser.items[p]]] = 1;
      const next = tf.tidy(() => {
        const xt = tf.tensor2d(x, [end - start, n]);
        return tf.add(gram, tf.matMul(xt, xt, true, false));
      });
      gram.dispose();
      gram = next;
    }
    const p = tf.tidy(() => invertSpd(tf.add(gram, tf.mul(tf.eye(n), this.config.l2))));
    gram.dispose();
    const values = p.dataSync() as Float32Array;
    p.dispose();
    // B = −P / diag(P) column-wise, zero diagonal; computed in place.
    const diag = new Float32Array(n);
    for (let j = 0; j < n; j++) diag[j] = values[j * n + j];
    for (let i = 0; i < n; i++) {
      const row = i * n;
      for (let j = 0; j < n; j++) values[row + j] = i === j ? 0 : -values[row + j] / diag[j];
    }
    this.numItems = numItems;
    this.active = Int32Array.from(active);
    this.position = position;
    this.weights = values;
    this.byUser = byUser;
    return closedFormFit(data.users.length, started);
  }

  /** Scores of every item given a set of items (the user's history, or items acted on recently). */
  scoreItems(items: ArrayLike<number>): Float32Array {
    const n = this.active.length;
    const acc = new Float32Array(n);
    const w = this.weights;
    for (let p = 0; p < items.length; p++) {
      const a = this.position[items[p]];
      if (a === undefined || a < 0) continue;
      const row = a * n;
      for (let j = 0; j < n; j++) acc[j] += w[row + j];
    }
    const scores = new Float32Array(this.numItems);
    for (let j = 0; j < n; j++) scores[this.active[j]] = acc[j];
    return scores;
  }

  scoreUser(user: number): Float32Array {
    if (user < 0 || user + 1 >= this.byUser.offsets.length) return new Float32Array(this.numItems);
    return this.scoreItems(this.byUser.items.subarray(this.byUser.offsets[user], this.byUser.offsets[user + 1]));
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    return scorePairsByUser((u) => this.scoreUser(u), users, items);
  }

  /** The items `item` raises most: row `item` of B. */
  similarItems(item: number, k: number): { items: Int32Array; scores: Float32Array } {
    return topScored(this.scoreItems([item]), k, item);
  }

  async save(dir: string): Promise<void> {
    writeJson(dir, 'ease', { config: this.config, numItems: this.numItems });
    writeArray(join(dir, 'ease.active.bin'), this.active);
    writeArray(join(dir, 'ease.weights.bin'), this.weights);
    writeUserItems(dir, 'ease', this.byUser);
  }

  static load(dir: string): EaseModel {
    const meta = readJson<{ config: EaseConfig; numItems: number }>(dir, 'ease');
    const model = new EaseModel(meta.config);
    model.numItems = meta.numItems;
    model.active = readInt32(join(dir, 'ease.active.bin'));
    model.position = new Int32Array(meta.numItems).fill(-1);
    model.active.forEach((item, a) => (model.position[item] = a));
    model.weights = readFloat32(join(dir, 'ease.weights.bin'));
    model.byUser = readUserItems(dir, 'ease');
    return model;
  }

  dispose(): void {
    this.weights = new Float32Array(0);
  }
}
