import { Rng } from '@pulse/platform';
import { sortedHas } from '../data/interactions';
import { tfLoaded, type Tf } from '../tf/tf-backend';
import type { LinearFactors } from '../live/fold-in';
import type { EpochReport, FitHooks, FitResult, Recommender, TrainingData } from './model';
import type { NcfConfig, NcfKind } from './ncf.config';
import { type DenseSlot, NcfNetwork, type Tensor, type Tensor1D, type Tensor2D } from './ncf.network';
import { EmbeddingAdam } from './embedding-adam';
import { NcfItemScorer, scorePairs } from './ncf.scorer';
import { type BatchGradients, forwardBackward, type StepPhases } from './ncf.training-step';

export { type NcfConfig, ncfConfig, type NcfKind, PAPER_DEFAULTS } from './ncf.config';
export type { StepPhases } from './ncf.training-step';

/** Time spent per phase of training, for the benchmark's breakdown. */
export interface StepProfile {
  samplingMs: number;
  stepMs: number;
  steps: number;
}

/**
 * MF, GMF, MLP and NeuMF (He et al. 2017) in TensorFlow.js with a hand-built training step. The network's
 * forward pass (ncf.network.ts) and its hand-written backward pass (ncf.training-step.ts) run as TF.js
 * kernels on the batch's embedding rows; the parameters live in host arrays: a step copies the batch's rows
 * out, and after the backward pass the optimiser (embedding-adam.ts) sums the gradients of repeated rows and
 * updates only those rows and their moments in place (a lazy, sparse Adam, as TF's LazyAdam or PyTorch's
 * SparseAdam); the few thousand dense weights get the same Adam in one loop. Scoring (ncf.scorer.ts) runs
 * the forward pass on the current weights. What this avoids, measured (docs/decisions/0012-recommender-tfjs.md):
 * Layers' trainOnBatch (per-step bookkeeping, dense Adam over whole embedding tables), and, with the
 * tables kept as tensors, a copy of each whole table per step (TensorScatterUpdate) plus ~30 small
 * kernel calls for the optimiser. Saved models are TF.js Layers models (ncf.tfjs-format.ts).
 */
export class NcfModel implements Recommender {
  readonly name: NcfKind;
  readonly config: NcfConfig;
  readonly network: NcfNetwork;
  numUsers = 0;
  numItems = 0;
  /** The embeddings: [numUsers + numItems] rows of rowDim floats ([gmf | mlp]), user rows first, then item rows. */
  private embeddings?: Float32Array;
  /** The dense weights, flat, by `slots`. */
  private dense?: Float32Array;
  /** The optimiser's state for the current weights; a new one (zero moments) whenever the weights are replaced. */
  private optimizer?: EmbeddingAdam;
  /** Tensors made from the host arrays when needed, dropped when the host arrays change. */
  private tableCache?: Tensor2D;
  private paramCache?: Tensor[];
  private scorer?: NcfItemScorer;
  /** The item vectors of an MF/GMF model for fold-in, made when first asked for, dropped with the other caches. */
  private linear?: LinearFactors;
  readonly profile: StepProfile = { samplingMs: 0, stepMs: 0, steps: 0 };
  /** When set, each training step adds the milliseconds of its phases here (ops run synchronously on tfjs-node). */
  phases?: StepPhases;

  constructor(config: NcfConfig) {
    this.config = config;
    this.name = config.kind;
    this.network = new NcfNetwork(config);
  }

  get gmfDim(): number {
    return this.network.gmfDim;
  }

  get mlpDim(): number {
    return this.network.mlpDim;
  }

  get rowDim(): number {
    return this.network.rowDim;
  }

  get slots(): DenseSlot[] {
    return this.network.slots;
  }

  get denseSize(): number {
    return this.network.denseSize;
  }

  private get tf(): Tf {
    return tfLoaded().tf;
  }

  /** [numUsers + numItems, rowDim]: the embeddings as a tensor. */
  private get table(): Tensor2D | undefined {
    if (!this.embeddings) return undefined;
    // Kept: the first caller may be inside a tf.tidy.
    this.tableCache ??= this.tf.keep(this.tf.tensor2d(this.embeddings, [this.numUsers + this.numItems, this.rowDim]));
    return this.tableCache;
  }

  /** The dense weights as tensors of their shapes, in `slots` order. */
  private get params(): Tensor[] {
    const dense = this.dense;
    if (!dense) throw new Error('the model has no weights yet');
    const { tf } = this;
    this.paramCache ??= this.slots.map((s) => tf.keep(tf.tensor(dense.slice(s.offset, s.offset + s.size), s.shape)));
    return this.paramCache;
  }

  private dropCaches(): void {
    this.linear = undefined;
    this.tableCache?.dispose();
    this.tableCache = undefined;
    this.paramCache?.forEach((t) => t.dispose());
    this.paramCache = undefined;
  }

  /** New weights: the embeddings `table` ([rows × rowDim]) and dense weights `dense`, with a fresh optimiser. */
  private setHost(table: Float32Array, dense: Float32Array): void {
    const rows = this.numUsers + this.numItems;
    if (table.length !== rows * this.rowDim) throw new Error('embedding table has the wrong size');
    this.embeddings = table;
    this.dense = dense;
    this.optimizer = new EmbeddingAdam(this.config, rows, this.rowDim, this.denseSize);
    this.dropCaches();
    this.invalidateScorer();
  }

  /** Random initialisation: N(0, initStd) embeddings, Glorot-uniform hidden layers, LeCun-uniform output. */
  initialize(numUsers: number, numItems: number): void {
    const rng = new Rng(this.config.seed);
    this.numUsers = numUsers;
    this.numItems = numItems;
    const table = new Float32Array((numUsers + numItems) * this.rowDim);
    for (let k = 0; k < table.length; k++) table[k] = rng.normal() * this.config.initStd;
    const dense = new Float32Array(this.denseSize);
    for (const slot of this.slots) {
      if (slot.shape.length !== 2) continue;
      const [fanIn, fanOut] = slot.shape;
      const limit = slot.name.startsWith('prediction') ? Math.sqrt(3 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
      for (let k = 0; k < slot.size; k++) dense[slot.offset + k] = (rng.next() * 2 - 1) * limit;
    }
    this.setHost(table, dense);
  }

  /**
   * NeuMF from converged GMF and MLP models (paper §3.4.1): their embeddings and layers as they are, the
   * output layer the α-weighted concatenation of theirs. The paper then trains with plain SGD.
   */
  initializeFromPretrained(gmf: NcfModel, mlp: NcfModel): void {
    if (this.config.kind !== 'neumf' || gmf.config.kind !== 'gmf' || mlp.config.kind !== 'mlp')
      throw new Error('pretraining combines a GMF and an MLP into a NeuMF');
    if (gmf.numUsers !== mlp.numUsers || gmf.numItems !== mlp.numItems) throw new Error('GMF and MLP were trained on different id spaces');
    this.numUsers = gmf.numUsers;
    this.numItems = gmf.numItems;
    const g = gmf.weights();
    const m = mlp.weights();
    const a = this.config.alpha;
    const gRows = g.table;
    const mRows = m.table;
    const rows = this.numUsers + this.numItems;
    const table = new Float32Array(rows * this.rowDim);
    for (let r = 0; r < rows; r++) {
      table.set(gRows.subarray(r * gmf.rowDim, (r + 1) * gmf.rowDim), r * this.rowDim);
      table.set(mRows.subarray(r * mlp.rowDim, (r + 1) * mlp.rowDim), r * this.rowDim + gmf.rowDim);
    }
    const dense = new Float32Array(this.denseSize);
    for (const slot of this.slots) {
      if (slot.name.startsWith('mlp_')) dense.set(m.dense[slot.name], slot.offset);
    }
    const out = this.slot('prediction/kernel');
    const gk = g.dense['prediction/kernel'];
    const mk = m.dense['prediction/kernel'];
    for (let k = 0; k < gk.length; k++) dense[out.offset + k] = a * gk[k];
    for (let k = 0; k < mk.length; k++) dense[out.offset + gk.length + k] = (1 - a) * mk[k];
    dense[this.slot('prediction/bias').offset] = a * g.dense['prediction/bias'][0] + (1 - a) * m.dense['prediction/bias'][0];
    this.setHost(table, dense);
  }

  private slot(name: string): DenseSlot {
    return this.network.slot(name);
  }

  /** Logits of B (user row, item row) pairs given their embedding rows and the flat dense parameters. */
  forward(ue: Tensor2D, ie: Tensor2D, params: Tensor[], training: boolean): Tensor1D {
    return this.network.forward(ue, ie, params, training);
  }

  /** A training step's forward pass, loss and gradients for a batch (ncf.training-step.ts). */
  forwardBackward(
    ue: Tensor2D,
    ie: Tensor2D,
    params: Tensor[],
    labels: Float32Array,
    lap?: (phase: keyof StepPhases) => void,
  ): BatchGradients {
    return forwardBackward(this.network, ue, ie, params, labels, lap);
  }

  /** Trains from the current weights (randomly initialised first if there are none). */
  async fit(data: TrainingData, hooks: FitHooks = {}): Promise<FitResult> {
    const { batchSize, negatives, epochs } = this.config;
    if (!this.embeddings || this.numUsers !== data.numUsers || this.numItems !== data.numItems)
      this.initialize(data.numUsers, data.numItems);
    const rng = new Rng(this.config.seed + 7);
    const losses: number[] = [];
    let samples = 0;
    let seconds = 0;
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      const sampled = this.sampleEpoch(data, negatives, batchSize, rng);
      const t1 = performance.now();
      const n = sampled.labels.length;
      const batches = Math.ceil(n / batchSize);
      let lossSum = 0;
      for (let b = 0; b < batches; b++) {
        const size = Math.min(batchSize, n - b * batchSize);
        lossSum += this.trainStep(sampled.ids, sampled.labels, b * batchSize, size) * size;
        if (hooks.onBatch && (b % 50 === 49 || b === batches - 1)) hooks.onBatch(epoch, b + 1, batches, lossSum / (b * batchSize + size));
      }
      const loss = lossSum / n;
      const t2 = performance.now();
      this.profile.samplingMs += t1 - started;
      this.profile.stepMs += t2 - t1;
      this.profile.steps += batches;
      const epochSeconds = (t2 - started) / 1000;
      samples += n;
      seconds += epochSeconds;
      losses.push(loss);
      this.invalidateScorer();
      const report: EpochReport = { epoch, epochs, loss, samples: n, seconds: epochSeconds };
      await hooks.onEpoch?.(report);
    }
    return { epochs, samples, seconds, samplesPerSecond: samples / Math.max(seconds, 1e-9), losses };
  }

  /**
   * One epoch of training triples: every positive and `negatives` uniformly sampled items the user has not
   * interacted with, shuffled, laid out per batch as [users of the batch, items of the batch (+numUsers)] so
   * one slice gives the batch's table rows.
   */
  sampleEpoch(data: TrainingData, negatives: number, batchSize: number, rng: Rng): { ids: Int32Array; labels: Float32Array } {
    const positives = data.users.length;
    const n = positives * (1 + negatives);
    const users = new Int32Array(n);
    const items = new Int32Array(n);
    const labels = new Float32Array(n);
    let k = 0;
    const { offsets, items: seen } = data.byUser;
    for (let p = 0; p < positives; p++) {
      const u = data.users[p];
      users[k] = u;
      items[k] = data.items[p];
      labels[k++] = 1;
      const mine = seen.subarray(offsets[u], offsets[u + 1]);
      const canSample = mine.length < data.numItems;
      for (let q = 0; q < negatives; q++) {
        let j = rng.int(data.numItems);
        while (canSample && sortedHas(mine, j)) j = rng.int(data.numItems);
        users[k] = u;
        items[k] = j;
        labels[k++] = 0;
      }
    }
    rng.shuffle(users, items, labels);
    const ids = new Int32Array(2 * n);
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      for (let t = 0; t < size; t++) {
        ids[2 * start + t] = users[start + t];
        ids[2 * start + size + t] = items[start + t] + this.numUsers;
      }
    }
    return { ids, labels };
  }

  /** One optimisation step on samples [start, start + size) of the epoch; returns the batch's mean loss. */
  private trainStep(epochIds: Int32Array, epochLabels: Float32Array, start: number, size: number): number {
    const { tf } = this;
    const table = this.embeddings as Float32Array;
    const optimizer = this.optimizer as EmbeddingAdam;
    const d = this.rowDim;
    optimizer.nextStep();
    const phases = this.phases;
    let mark = phases ? performance.now() : 0;
    const lap = (phase: keyof StepPhases) => {
      if (!phases) return;
      const now = performance.now();
      phases[phase] += now - mark;
      mark = now;
    };
    // The batch's users then its items (offset by numUsers), as laid out by sampleEpoch.
    const base = 2 * start;
    const count = 2 * size;
    const rows = new Float32Array(count * d);
    for (let k = 0; k < count; k++) {
      const off = epochIds[base + k] * d;
      rows.set(table.subarray(off, off + d), k * d);
    }
    const params = this.params;
    lap('gatherRows');
    const labels = epochLabels.subarray(start, start + size);
    const out = tf.tidy(() => {
      const batch = tf.tensor2d(rows, [count, d]);
      return forwardBackward(this.network, batch.slice([0, 0], [size, d]), batch.slice([size, 0], [size, d]), params, labels, lap);
    });
    const rowGrads = out.rows.dataSync() as Float32Array;
    const denseGrads = out.dense.dataSync() as Float32Array;
    out.rows.dispose();
    out.dense.dispose();
    lap('downloadGradients');
    optimizer.updateRows(table, epochIds, base, count, rowGrads);
    lap('sparseRowAdam');
    optimizer.updateDense(this.dense as Float32Array, denseGrads);
    this.dropCaches();
    lap('denseAdam');
    return out.loss;
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    return scorePairs(this.network, this.table as Tensor2D, this.params, this.numUsers, users, items);
  }

  /** Scores of every item for one user, with the item side of the network computed once per set of weights (ncf.scorer.ts). */
  scoreUser(user: number): Float32Array {
    this.scorer ??= new NcfItemScorer(this.network, this.table as Tensor2D, this.params, this.numUsers, this.numItems);
    return this.scorer.scoreUser(user, this.params);
  }

  private invalidateScorer(): void {
    this.scorer?.dispose();
    this.scorer = undefined;
  }

  /** Cosine similarity of item embeddings (all of an item's row: GMF and MLP parts). */
  similarItems(item: number, k: number): { items: Int32Array; scores: Float32Array } {
    const { tf } = this;
    const sims = tf.tidy(() => {
      const items = (this.table as Tensor2D).slice([this.numUsers, 0], [this.numItems, this.rowDim]);
      const normed = tf.div(items, tf.add(tf.norm(items, 'euclidean', 1, true), 1e-12));
      return tf.matMul(normed, normed.slice([item, 0], [1, this.rowDim]), false, true).reshape([this.numItems]);
    });
    const values = sims.dataSync() as Float32Array;
    sims.dispose();
    const order = Array.from(values.keys()).filter((i) => i !== item);
    order.sort((a, b) => values[b] - values[a]);
    const top = order.slice(0, k);
    return { items: Int32Array.from(top), scores: Float32Array.from(top, (i) => values[i]) };
  }

  /** The weights as host arrays: the embedding table ([rows × rowDim]) and each dense parameter by name. */
  /**
   * MF scores p_u · q_i + b and GMF (p_u ⊙ q_i) · h + b: both are linear in the user's vector, with item vectors
   * q_i (MF) or q_i ⊙ h (GMF). The MLP and NeuMF towers are not, so they have none.
   */
  linearFactors(): LinearFactors | undefined {
    if (this.config.kind !== 'mf' && this.config.kind !== 'gmf') return undefined;
    if (this.linear) return this.linear;
    const table = this.embeddings;
    const dense = this.dense;
    if (!table || !dense) return undefined;
    const dim = this.gmfDim;
    const rowDim = this.rowDim;
    const h =
      this.config.kind === 'gmf'
        ? dense.subarray(this.slot('prediction/kernel').offset, this.slot('prediction/kernel').offset + dim)
        : undefined;
    const itemVectors = new Float32Array(this.numItems * dim);
    for (let i = 0; i < this.numItems; i++) {
      const row = (this.numUsers + i) * rowDim;
      for (let j = 0; j < dim; j++) itemVectors[i * dim + j] = table[row + j] * (h ? h[j] : 1);
    }
    this.linear = {
      dim,
      numItems: this.numItems,
      itemVectors,
      bias: dense[this.slot('prediction/bias').offset],
      userVector: (user) => table.slice(user * rowDim, user * rowDim + dim),
    };
    return this.linear;
  }

  weights(): { table: Float32Array; dense: Record<string, Float32Array> } {
    const flat = this.dense;
    if (!flat) throw new Error('the model has no weights yet');
    const dense: Record<string, Float32Array> = {};
    for (const s of this.slots) dense[s.name] = flat.slice(s.offset, s.offset + s.size);
    return { table: this.tableData(), dense };
  }

  /** Replaces the weights (after loading a saved model); the optimiser state starts from zero. */
  setWeights(numUsers: number, numItems: number, table: Float32Array, dense: Record<string, Float32Array>): void {
    this.numUsers = numUsers;
    this.numItems = numItems;
    const flat = new Float32Array(this.denseSize);
    for (const s of this.slots) {
      const w = dense[s.name];
      if (!w || w.length !== s.size) throw new Error(`dense parameter ${s.name} is missing or has the wrong size`);
      flat.set(w, s.offset);
    }
    this.setHost(table.slice(), flat);
  }

  async save(dir: string): Promise<void> {
    const { saveNcfAsLayersModel } = await import('./ncf.tfjs-format');
    await saveNcfAsLayersModel(this, dir);
  }

  /** A copy of the embeddings, [numUsers + numItems] rows of rowDim floats. */
  tableData(): Float32Array {
    const embeddings = this.embeddings;
    if (!embeddings) throw new Error('the model has no weights yet');
    return embeddings.slice();
  }

  dispose(): void {
    this.invalidateScorer();
    this.dropCaches();
    this.embeddings = undefined;
    this.dense = undefined;
    this.optimizer = undefined;
  }
}
