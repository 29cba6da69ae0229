import { Rng } from '@pulse/platform';
import { catalogueVectors, itemTextsFor, newItemVectors } from '../content/item-vectors';
import type { ItemText } from '../content/item-texts';
import type { SparseRows } from '../content/tfidf';
import { TfIdf, type TfIdfState } from '../content/tfidf';
import { sortedHas } from '../data/interactions';
import type { LinearFactors } from '../live/fold-in';
import { EmbeddingAdam } from './embedding-adam';
import { type HybridBatch, hybridGradients, type HybridTable, type PaddedTerms, type RowGradients } from './hybrid.gradients';
import { cosineToAll } from './ials.model';
import type { EpochReport, FitHooks, FitResult, Recommender, TrainingData } from './model';
import { readJson, scorePairsByUser, topScored, writeJson } from './model-files';
import { readSparseRows, writeSparseRows } from './content.model';
import { loadWeightArrays, saveWeightArrays } from './tf-weights';

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
 * A two-tower hybrid: the user tower is an embedding p_u; the item tower is the item's own embedding e_i plus a
 * content tower, the TF-IDF vector of its text projected by a learned matrix W (Σ_t x_it W_t), so v_i = e_i + Wᵀx_i
 * and the score is p_u · v_i. Trained jointly on the BPR loss with its gradient written out (hybrid.gradients.ts:
 * the model is sums and dot products) and a lazy Adam on the rows each batch touches (embedding-adam.ts, as NCF's
 * embedding rows); saved in TF.js's weights format. As in DropoutNet (Volkovs et al. 2017) e_i is dropped from a
 * share of the training examples, so the content tower alone must rank; an item without training interactions has
 * no e_i (it is not a negative either), and a brand-new item with text is v_i = Wᵀx_i (`scoreNewItems`). The score
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
  private table?: HybridTable;
  /** Items with training interactions (1) or not (0): only the former have an embedding of their own. */
  private hasCf: Float32Array = new Float32Array(0);
  /** Host copies for scoring, made when first needed after the weights change. */
  private host?: { users: Float32Array; itemVectors: Float32Array; terms: Float32Array };
  private linear?: LinearFactors;

  constructor(config: Partial<HybridConfig> = {}) {
    this.config = { ...HYBRID_DEFAULTS, ...config };
  }

  /** Terms of the content tower's vocabulary. */
  get vocabularySize(): number {
    return this.tfidf.size;
  }

  /** Item `i`'s top terms and their weights, padded with weight 0: [numItems × maxTerms] each. */
  private paddedTerms(rows: SparseRows): PaddedTerms {
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
    return { maxTerms: T, ids, weights };
  }

  async fit(data: TrainingData, hooks: FitHooks = {}): Promise<FitResult> {
    const { factors: d, batchSize, epochs, learningRate, l2, cfDropout, initStd } = this.config;
    const vectors = catalogueVectors(data, itemTextsFor('hybrid', this.config.itemText));
    this.tfidf = vectors.tfidf;
    this.rows = vectors.rows;
    this.analyzer = vectors.analyzer;
    this.numUsers = data.numUsers;
    this.numItems = data.numItems;
    this.hasCf = Float32Array.from(data.popularity, (c) => (c > 0 ? 1 : 0));
    const rng = new Rng(this.config.seed);
    const numTerms = Math.max(this.tfidf.size, 1);
    const table: HybridTable = {
      dim: d,
      numUsers: data.numUsers,
      numItems: data.numItems,
      numTerms,
      values: Float32Array.from({ length: (data.numUsers + data.numItems + numTerms) * d }, () => rng.normal() * initStd),
    };
    this.table = table;
    this.invalidate();
    const terms = this.paddedTerms(this.rows);
    const warm = Int32Array.from(this.hasCf.keys()).filter((i) => this.hasCf[i] > 0);
    const optimizer = new EmbeddingAdam({ optimizer: 'adam', learningRate, l2: 0 }, data.numUsers + data.numItems + numTerms, d, 0);
    const gradients: RowGradients = { count: 0, rows: new Int32Array(0), grads: new Float32Array(0) };
    const batch: HybridBatch = {
      size: 0,
      u: new Int32Array(batchSize),
      i: new Int32Array(batchSize),
      j: new Int32Array(batchSize),
      keepI: new Float32Array(batchSize),
      keepJ: new Float32Array(batchSize),
    };
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
        batch.size = size;
        for (let k = 0; k < size; k++) {
          const p = order[b * batchSize + k];
          const u = data.users[p];
          batch.u[k] = u;
          batch.i[k] = data.items[p];
          const mine = data.byUser.items.subarray(data.byUser.offsets[u], data.byUser.offsets[u + 1]);
          let neg = warm[rng.int(warm.length)];
          for (let tries = 0; tries < 20 && sortedHas(mine, neg); tries++) neg = warm[rng.int(warm.length)];
          batch.j[k] = neg;
          batch.keepI[k] = rng.next() < cfDropout ? 0 : 1;
          batch.keepJ[k] = rng.next() < cfDropout ? 0 : 1;
        }
        const loss = hybridGradients(table, terms, this.hasCf, batch, l2, gradients);
        optimizer.nextStep();
        optimizer.updateRows(table.values, gradients.rows, 0, gradients.count, gradients.grads);
        lossSum += loss * size;
        if (hooks.onBatch && (b % 20 === 19 || b === batches - 1)) hooks.onBatch(epoch, b + 1, batches, lossSum / (b * batchSize + size));
        // Training is synchronous host loops: let the event loop run (health checks, progress) now and then.
        if (b % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
      }
      const epochSeconds = (performance.now() - started) / 1000;
      seconds += epochSeconds;
      samples += 2 * n;
      losses.push(lossSum / n);
      this.invalidate();
      const report: EpochReport = { epoch, epochs, loss: lossSum / n, samples: 2 * n, seconds: epochSeconds };
      await hooks.onEpoch?.(report);
    }
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
    const table = this.table;
    if (!table) throw new Error('hybrid: the model has no weights yet');
    const d = this.config.factors;
    const { users, items, terms } = this.parts(table);
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
    const table = this.table;
    if (!table) throw new Error('hybrid: the model has no weights yet');
    writeJson(dir, 'hybrid', {
      config: this.config,
      numUsers: this.numUsers,
      numItems: this.numItems,
      analyzer: this.analyzer,
      vocabulary: this.tfidf.state(),
      hasCf: Array.from(this.hasCf),
    });
    writeSparseRows(dir, 'hybrid.items', this.rows);
    // TF.js's weights format, as when the hybrid trained on TF.js variables: models saved then still load.
    const { users, items, terms } = this.parts(table);
    const d = table.dim;
    saveWeightArrays(dir, 'hybrid', {
      users: { values: users, shape: [table.numUsers, d] },
      items: { values: items, shape: [table.numItems, d] },
      terms: { values: terms, shape: [table.numTerms, d] },
    });
  }

  static load(dir: string): HybridModel {
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
    const w = loadWeightArrays(dir, 'hybrid');
    const [users, items, terms] = [w['users'], w['items'], w['terms']].map((t) => t.values);
    const d = meta.config.factors;
    const values = new Float32Array(users.length + items.length + terms.length);
    values.set(users, 0);
    values.set(items, users.length);
    values.set(terms, users.length + items.length);
    model.table = { dim: d, numUsers: users.length / d, numItems: items.length / d, numTerms: terms.length / d, values };
    return model;
  }

  /** The table's users, items and terms (views, not copies). */
  private parts(table: HybridTable): { users: Float32Array; items: Float32Array; terms: Float32Array } {
    const { dim: d, numUsers, numItems, values } = table;
    return {
      users: values.subarray(0, numUsers * d),
      items: values.subarray(numUsers * d, (numUsers + numItems) * d),
      terms: values.subarray((numUsers + numItems) * d),
    };
  }

  dispose(): void {
    this.table = undefined;
    this.invalidate();
  }
}
