import { Rng } from '@pulse/platform';
import type * as tfTypes from '@tensorflow/tfjs';
import { catalogueVectors, itemTextsFor, newItemVectors } from '../content/item-vectors';
import type { ItemText } from '../content/item-texts';
import type { SparseRows } from '../content/tfidf';
import { TfIdf, type TfIdfState } from '../content/tfidf';
import { sortedHas } from '../data/interactions';
import type { LinearFactors } from '../live/fold-in';
import { tfLoaded } from '../tf/tf-backend';
import { cosineToAll } from './ials.model';
import type { EpochReport, FitHooks, FitResult, Recommender, TrainingData } from './model';
import { readJson, scorePairsByUser, topScored, writeJson } from './model-files';
import { readSparseRows, writeSparseRows } from './content.model';
import { loadTfWeights, saveTfWeights } from './tf-weights';

type Tensor = tfTypes.Tensor;
type Variable = tfTypes.Variable;

export interface HybridConfig {
  /** The item texts (`--item-text`), as for the content model. */
  itemText?: string;
  factors: number;
  /** Terms kept per item (its largest TF-IDF weights). */
  maxTerms: number;
  /** Probability of dropping an item's own embedding in a training example, so the content tower learns to stand alone. */
  cfDropout: number;
  learningRate: number;
  /** L2 penalty on the batch's user vectors and item vectors. */
  l2: number;
  batchSize: number;
  epochs: number;
  initStd: number;
  seed: number;
}

/** Chosen on the validation hold-out of ml-latest-small (docs/decisions/0017-recommender-model-zoo.md). */
export const HYBRID_DEFAULTS: HybridConfig = {
  factors: 64,
  maxTerms: 32,
  cfDropout: 0.5,
  learningRate: 0.005,
  l2: 0.0001,
  batchSize: 1024,
  epochs: 20,
  initStd: 0.05,
  seed: 42,
};

/**
 * A two-tower hybrid trained in TensorFlow.js: the user tower is an embedding p_u; the item tower is the item's
 * own embedding e_i plus a content tower, the TF-IDF vector of its text projected by a learned matrix W
 * (Σ_t x_it W_t), so v_i = e_i + Wᵀx_i and the score is p_u · v_i. Trained jointly on the BPR loss with
 * autodiff (tf.variableGrads, Adam). As in DropoutNet (Volkovs et al. 2017) e_i is dropped from a share of the
 * training examples, so the content tower alone must rank; an item without training interactions has no e_i
 * (it is not a negative either), and a brand-new item with text is v_i = Wᵀx_i (`scoreNewItems`). The score
 * is linear in p_u, so serving can fold in recent actions (`linearFactors`).
 */
export class HybridModel implements Recommender {
  readonly name = 'hybrid' as const;
  readonly config: HybridConfig;
  numUsers = 0;
  numItems = 0;
  private tfidf = TfIdf.from({ terms: [], idf: [] });
  private rows: SparseRows = { offsets: new Int32Array(1), terms: new Int32Array(0), weights: new Float32Array(0) };
  private analyzer = '';
  private vars?: { users: Variable; items: Variable; terms: Variable };
  /** Items with training interactions (1) or not (0): only the former have an embedding of their own. */
  private hasCf: Float32Array = new Float32Array(0);
  /** Host copies for scoring, made when first needed after the weights change. */
  private host?: { users: Float32Array; itemVectors: Float32Array; terms: Float32Array };
  private linear?: LinearFactors;

  constructor(config: Partial<HybridConfig> = {}) {
    this.config = { ...HYBRID_DEFAULTS, ...config };
  }

  private get tf() {
    return tfLoaded().tf;
  }

  /** Terms of the content tower's vocabulary. */
  get vocabularySize(): number {
    return this.tfidf.size;
  }

  /** Item `i`'s top terms and their weights, padded with weight 0: [numItems × maxTerms] each. */
  private paddedTerms(rows: SparseRows): { ids: Int32Array; weights: Float32Array } {
    const T = this.config.maxTerms;
    const n = rows.offsets.length - 1;
    const ids = new Int32Array(n * T);
    const weights = new Float32Array(n * T);
    for (let r = 0; r < n; r++) {
      const order = Array.from({ length: rows.offsets[r + 1] - rows.offsets[r] }, (_, k) => rows.offsets[r] + k);
      order.sort((a, b) => rows.weights[b] - rows.weights[a]);
      order.slice(0, T).forEach((p, k) => {
        ids[r * T + k] = rows.terms[p];
        weights[r * T + k] = rows.weights[p];
      });
    }
    return { ids, weights };
  }

  async fit(data: TrainingData, hooks: FitHooks = {}): Promise<FitResult> {
    const { tf } = this;
    const { factors: d, batchSize, epochs, learningRate, l2, cfDropout, initStd, maxTerms: T } = this.config;
    const vectors = catalogueVectors(data, itemTextsFor('hybrid', this.config.itemText));
    this.tfidf = vectors.tfidf;
    this.rows = vectors.rows;
    this.analyzer = vectors.analyzer;
    this.numUsers = data.numUsers;
    this.numItems = data.numItems;
    this.hasCf = Float32Array.from(data.popularity, (c) => (c > 0 ? 1 : 0));
    const rng = new Rng(this.config.seed);
    const init = (rows: number) =>
      tf.variable(
        tf.tensor2d(
          Float32Array.from({ length: rows * d }, () => rng.normal() * initStd),
          [rows, d],
        ),
      );
    this.disposeVars();
    this.vars = { users: init(data.numUsers), items: init(data.numItems), terms: init(Math.max(this.tfidf.size, 1)) };
    this.invalidate();
    const padded = this.paddedTerms(this.rows);
    const termIds = tf.tensor2d(padded.ids, [data.numItems, T], 'int32');
    const termWeights = tf.tensor3d(padded.weights, [data.numItems, T, 1]);
    const hasCf = tf.tensor1d(this.hasCf);
    const warm = Int32Array.from(this.hasCf.keys()).filter((i) => this.hasCf[i] > 0);
    const optimizer = tf.train.adam(learningRate);
    const { users: P, items: E, terms: W } = this.vars;
    const itemVectors = (ids: Tensor, keep: Tensor) =>
      tf.add(
        tf.mul(tf.gather(E, ids), tf.mul(tf.gather(hasCf, ids), keep).expandDims(1)),
        tf.sum(tf.mul(tf.gather(W, tf.gather(termIds, ids)), tf.gather(termWeights, ids)), 1),
      );
    const n = data.users.length;
    const losses: number[] = [];
    let seconds = 0;
    let samples = 0;
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      const order = Int32Array.from({ length: n }, (_, k) => k);
      rng.shuffle(order);
      let lossSum = 0;
      const batches = Math.ceil(n / batchSize);
      for (let b = 0; b < batches; b++) {
        const size = Math.min(batchSize, n - b * batchSize);
        const u = new Int32Array(size);
        const i = new Int32Array(size);
        const j = new Int32Array(size);
        const keepI = new Float32Array(size);
        const keepJ = new Float32Array(size);
        for (let k = 0; k < size; k++) {
          const p = order[b * batchSize + k];
          u[k] = data.users[p];
          i[k] = data.items[p];
          const mine = data.byUser.items.subarray(data.byUser.offsets[u[k]], data.byUser.offsets[u[k] + 1]);
          let neg = warm[rng.int(warm.length)];
          for (let tries = 0; tries < 20 && sortedHas(mine, neg); tries++) neg = warm[rng.int(warm.length)];
          j[k] = neg;
          keepI[k] = rng.next() < cfDropout ? 0 : 1;
          keepJ[k] = rng.next() < cfDropout ? 0 : 1;
        }
        const loss = tf.tidy(() => {
          const ut = tf.tensor1d(u, 'int32');
          const it = tf.tensor1d(i, 'int32');
          const jt = tf.tensor1d(j, 'int32');
          const ki = tf.tensor1d(keepI);
          const kj = tf.tensor1d(keepJ);
          return optimizer.minimize(
            () => {
              const pu = tf.gather(P, ut);
              const vi = itemVectors(it, ki);
              const vj = itemVectors(jt, kj);
              const x = tf.sum(tf.mul(pu, tf.sub(vi, vj)), 1);
              const reg = tf.mul(l2, tf.add(tf.sum(tf.square(pu)), tf.add(tf.sum(tf.square(vi)), tf.sum(tf.square(vj)))));
              return tf.add(tf.mean(tf.softplus(tf.neg(x))), tf.div(reg, size)) as tfTypes.Scalar;
            },
            true,
            [P, E, W],
          ) as tfTypes.Scalar;
        });
        lossSum += loss.dataSync()[0] * size;
        loss.dispose();
        if (hooks.onBatch && (b % 20 === 19 || b === batches - 1)) hooks.onBatch(epoch, b + 1, batches, lossSum / (b * batchSize + size));
      }
      const epochSeconds = (performance.now() - started) / 1000;
      seconds += epochSeconds;
      samples += 2 * n;
      losses.push(lossSum / n);
      this.invalidate();
      const report: EpochReport = { epoch, epochs, loss: lossSum / n, samples: 2 * n, seconds: epochSeconds };
      await hooks.onEpoch?.(report);
    }
    optimizer.dispose();
    tf.dispose([termIds, termWeights, hasCf]);
    // A sample is one (user, item) score: a BPR triple scores two.
    return { epochs, samples, seconds, samplesPerSecond: samples / Math.max(seconds, 1e-9), losses };
  }

  private invalidate(): void {
    this.host = undefined;
    this.linear = undefined;
  }

  /** v_i = hasCf_i · e_i + Σ_t x_it W_t for every item, and the users, as host arrays. */
  private hostWeights(): { users: Float32Array; itemVectors: Float32Array; terms: Float32Array } {
    if (this.host) return this.host;
    const vars = this.vars;
    if (!vars) throw new Error('hybrid: the model has no weights yet');
    const d = this.config.factors;
    const users = vars.users.dataSync() as Float32Array;
    const items = vars.items.dataSync() as Float32Array;
    const terms = vars.terms.dataSync() as Float32Array;
    const itemVectors = new Float32Array(this.numItems * d);
    for (let i = 0; i < this.numItems; i++) {
      const o = i * d;
      if (this.hasCf[i] > 0) for (let f = 0; f < d; f++) itemVectors[o + f] = items[o + f];
    }
    this.addContent(this.rows, terms, itemVectors);
    this.host = { users, itemVectors, terms };
    return this.host;
  }

  /** Adds the content tower's Σ_t x_it W_t of each row (its top `maxTerms` terms, as in training) to `out` (rows × d). */
  private addContent(rows: SparseRows, terms: Float32Array, out: Float32Array): void {
    const d = this.config.factors;
    const T = this.config.maxTerms;
    const padded = this.paddedTerms(rows);
    for (let r = 0; r < rows.offsets.length - 1; r++) {
      for (let k = 0; k < T; k++) {
        const w = padded.weights[r * T + k];
        if (w === 0) continue;
        const t = padded.ids[r * T + k] * d;
        for (let f = 0; f < d; f++) out[r * d + f] += w * terms[t + f];
      }
    }
  }

  scoreUser(user: number): Float32Array {
    const f = this.linearFactors();
    const d = f.dim;
    const out = new Float32Array(this.numItems);
    if (user < 0 || user >= this.numUsers) return out;
    const p = f.userVector(user);
    for (let i = 0; i < this.numItems; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += p[k] * f.itemVectors[i * d + k];
      out[i] = s;
    }
    return out;
  }

  /** Scores of items known only by their text: v = Wᵀx from the content tower alone. */
  scoreNewItems(user: number, items: readonly ItemText[]): Float32Array {
    const { users, terms } = this.hostWeights();
    const d = this.config.factors;
    const rows = newItemVectors(this.tfidf, items);
    const vectors = new Float32Array(items.length * d);
    this.addContent(rows, terms, vectors);
    const out = new Float32Array(items.length);
    if (user < 0 || user >= this.numUsers) return out;
    for (let r = 0; r < items.length; r++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += users[user * d + k] * vectors[r * d + k];
      out[r] = s;
    }
    return out;
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    return scorePairsByUser((u) => this.scoreUser(u), users, items);
  }

  linearFactors(): LinearFactors {
    if (this.linear) return this.linear;
    const { users, itemVectors } = this.hostWeights();
    const d = this.config.factors;
    this.linear = { dim: d, numItems: this.numItems, itemVectors, bias: 0, userVector: (u) => users.slice(u * d, (u + 1) * d) };
    return this.linear;
  }

  similarItems(item: number, k: number): { items: Int32Array; scores: Float32Array } {
    return topScored(cosineToAll(this.hostWeights().itemVectors, this.numItems, this.config.factors, item), k, item);
  }

  async save(dir: string): Promise<void> {
    const vars = this.vars;
    if (!vars) throw new Error('hybrid: the model has no weights yet');
    writeJson(dir, 'hybrid', {
      config: this.config,
      numUsers: this.numUsers,
      numItems: this.numItems,
      analyzer: this.analyzer,
      vocabulary: this.tfidf.state(),
      hasCf: Array.from(this.hasCf),
    });
    writeSparseRows(dir, 'hybrid.items', this.rows);
    saveTfWeights(dir, 'hybrid', { users: vars.users, items: vars.items, terms: vars.terms });
  }

  static load(dir: string): HybridModel {
    const { tf } = tfLoaded();
    const meta = readJson<{
      config: HybridConfig;
      numUsers: number;
      numItems: number;
      analyzer: string;
      vocabulary: TfIdfState;
      hasCf: number[];
    }>(dir, 'hybrid');
    const model = new HybridModel(meta.config);
    model.numUsers = meta.numUsers;
    model.numItems = meta.numItems;
    model.analyzer = meta.analyzer;
    model.tfidf = TfIdf.from(meta.vocabulary);
    model.hasCf = Float32Array.from(meta.hasCf);
    model.rows = readSparseRows(dir, 'hybrid.items');
    const w = loadTfWeights(dir, 'hybrid');
    model.vars = { users: tf.variable(w['users']), items: tf.variable(w['items']), terms: tf.variable(w['terms']) };
    tf.dispose(Object.values(w));
    return model;
  }

  private disposeVars(): void {
    if (!this.vars) return;
    this.tf.dispose([this.vars.users, this.vars.items, this.vars.terms]);
    this.vars = undefined;
  }

  dispose(): void {
    this.disposeVars();
    this.invalidate();
  }
}
