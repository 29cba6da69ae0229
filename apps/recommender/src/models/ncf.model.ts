import type * as tfTypes from '@tensorflow/tfjs';
import { Rng } from '@pulse/platform';
import { sortedHas } from '../data/interactions';
import { tfLoaded, type Tf } from '../tf/tf-backend';
import type { EpochReport, FitHooks, FitResult, Recommender, TrainingData } from './model';

type Tensor = tfTypes.Tensor;
// Ranks are checked at run time by TF.js; one tensor type keeps the step readable.
type Tensor1D = tfTypes.Tensor;
type Tensor2D = tfTypes.Tensor;

export type NcfKind = 'mf' | 'gmf' | 'mlp' | 'neumf';

/** Hyperparameters; the defaults are the NCF paper's (He et al. 2017, §4.1). */
export interface NcfConfig {
  kind: NcfKind;
  /** Predictive factors of GMF / MF. */
  factors: number;
  /** MLP tower: the first entry is the concatenated embedding width (half per side). */
  layers: number[];
  /** Sampled negatives per positive. */
  negatives: number;
  learningRate: number;
  batchSize: number;
  epochs: number;
  optimizer: 'adam' | 'sgd';
  /** L2 penalty on the embedding rows of a batch and on the dense weights. */
  l2: number;
  /** Dropout after each hidden MLP layer, in training only. */
  dropout: number;
  /** Standard deviation of the N(0, σ) embedding initialisation. */
  initStd: number;
  /** NeuMF: weight of the pre-trained GMF output against the MLP's (paper α = 0.5). */
  alpha: number;
  seed: number;
}

export const PAPER_DEFAULTS: Omit<NcfConfig, 'kind'> = {
  factors: 8,
  layers: [64, 32, 16, 8],
  negatives: 4,
  learningRate: 0.001,
  batchSize: 256,
  epochs: 20,
  optimizer: 'adam',
  l2: 0,
  dropout: 0,
  initStd: 0.01,
  alpha: 0.5,
  seed: 42,
};

export function ncfConfig(kind: NcfKind, overrides: Partial<NcfConfig> = {}): NcfConfig {
  const config = { ...PAPER_DEFAULTS, ...overrides, kind };
  if (config.layers.length < 2 || config.layers[0] % 2 !== 0) throw new RangeError('layers: at least two, the first even');
  if (!(config.batchSize >= 1 && config.negatives >= 0 && config.epochs >= 0 && config.learningRate > 0))
    throw new RangeError('bad training settings');
  return config;
}

/** A dense parameter of the network: where it sits in the flat parameter vector. */
interface DenseSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** Time spent per phase of training, for the benchmark's breakdown. */
export interface StepProfile {
  samplingMs: number;
  stepMs: number;
  steps: number;
}

/** Phases of one training step (milliseconds, summed over steps) when `NcfModel.phases` is set. */
export type StepPhases = Record<
  'gatherRows' | 'forward' | 'lossInJs' | 'backward' | 'downloadGradients' | 'sparseRowAdam' | 'denseAdam',
  number
>;

const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-7;

/**
 * MF, GMF, MLP and NeuMF (He et al. 2017) in TensorFlow.js with a hand-built training step. The network's
 * forward pass and its hand-written backward pass run as TF.js kernels on the batch's embedding rows; the
 * parameters live in host arrays next to their Adam moments: a step copies the batch's rows out, and
 * after the backward pass sums the gradients of repeated rows and updates only those rows and their
 * moments in place (a lazy, sparse Adam, as TF's LazyAdam or PyTorch's SparseAdam); the few thousand dense
 * weights get the same Adam in one loop. What this avoids, measured (docs/decisions/0012-recommender-tfjs.md):
 * Layers' trainOnBatch (per-step bookkeeping, dense Adam over whole embedding tables), and, with the
 * tables kept as tensors, a copy of each whole table per step (TensorScatterUpdate) plus ~30 small
 * kernel calls for the optimiser. Saved models are TF.js Layers models (ncf.tfjs-format.ts).
 */
export class NcfModel implements Recommender {
  readonly name: NcfKind;
  readonly config: NcfConfig;
  readonly gmfDim: number;
  readonly mlpDim: number;
  readonly rowDim: number;
  readonly slots: DenseSlot[];
  readonly denseSize: number;
  numUsers = 0;
  numItems = 0;
  /**
   * [numUsers + numItems] rows of 3 × rowDim floats: user rows first, then item rows; each row is the
   * embedding ([gmf | mlp]), then its Adam first and second moments.
   */
  private host?: Float32Array;
  /** The dense weights (flat, by `slots`), then their Adam first and second moments. */
  private denseHost?: Float32Array;
  /** Tensors made from the host arrays when needed, dropped when the host arrays change. */
  private tableCache?: Tensor2D;
  private paramCache?: Tensor[];
  /** Per table row: the step that last touched it, and its slot among the step's unique rows. */
  private rowStamp = new Int32Array(0);
  private rowSlot = new Int32Array(0);
  /** Reused per step: the batch's unique rows and their summed gradients. */
  private scratchRows = new Int32Array(0);
  private scratchSums = new Float32Array(0);
  private step = 0;
  private scorer?: { user: Tensor2D; itemGmf?: Tensor2D; itemMlpA?: Tensor2D };
  readonly profile: StepProfile = { samplingMs: 0, stepMs: 0, steps: 0 };
  /** When set, each training step adds the milliseconds of its phases here (ops run synchronously on tfjs-node). */
  phases?: StepPhases;

  constructor(config: NcfConfig) {
    this.config = config;
    this.name = config.kind;
    const usesGmf = config.kind !== 'mlp';
    const usesMlp = config.kind === 'mlp' || config.kind === 'neumf';
    this.gmfDim = usesGmf ? config.factors : 0;
    this.mlpDim = usesMlp ? config.layers[0] / 2 : 0;
    this.rowDim = this.gmfDim + this.mlpDim;
    const slots: DenseSlot[] = [];
    let offset = 0;
    const add = (name: string, shape: number[]) => {
      const size = shape.reduce((a, b) => a * b, 1);
      slots.push({ name, shape, offset, size });
      offset += size;
    };
    if (usesMlp) {
      for (let l = 1; l < config.layers.length; l++) {
        add(`mlp_${l}/kernel`, [config.layers[l - 1], config.layers[l]]);
        add(`mlp_${l}/bias`, [config.layers[l]]);
      }
    }
    const outIn = (usesGmf && config.kind !== 'mf' ? config.factors : 0) + (usesMlp ? config.layers[config.layers.length - 1] : 0);
    if (config.kind !== 'mf') add('prediction/kernel', [outIn, 1]);
    add('prediction/bias', [1]);
    this.slots = slots;
    this.denseSize = offset;
  }

  private get tf(): Tf {
    return tfLoaded().tf;
  }

  /** [numUsers + numItems, rowDim]: the embeddings as a tensor. */
  private get table(): Tensor2D | undefined {
    if (!this.host) return undefined;
    // Kept: the first caller may be inside a tf.tidy.
    this.tableCache ??= this.tf.keep(this.tf.tensor2d(this.tableData(), [this.numUsers + this.numItems, this.rowDim]));
    return this.tableCache;
  }

  /** The dense weights as tensors of their shapes, in `slots` order. */
  private get params(): Tensor[] {
    const host = this.denseHost;
    if (!host) throw new Error('the model has no weights yet');
    const { tf } = this;
    this.paramCache ??= this.slots.map((s) => tf.keep(tf.tensor(host.slice(s.offset, s.offset + s.size), s.shape)));
    return this.paramCache;
  }

  private dropCaches(): void {
    this.tableCache?.dispose();
    this.tableCache = undefined;
    this.paramCache?.forEach((t) => t.dispose());
    this.paramCache = undefined;
  }

  /** Fresh host arrays around the embeddings `table` ([rows × rowDim]) and dense weights `dense`, with zero moments. */
  private setHost(table: Float32Array, dense: Float32Array): void {
    const rows = this.numUsers + this.numItems;
    const d = this.rowDim;
    if (table.length !== rows * d) throw new Error('embedding table has the wrong size');
    const host = new Float32Array(rows * 3 * d);
    for (let r = 0; r < rows; r++) host.set(table.subarray(r * d, (r + 1) * d), r * 3 * d);
    this.host = host;
    this.denseHost = new Float32Array(3 * this.denseSize);
    this.denseHost.set(dense);
    this.rowStamp = new Int32Array(rows).fill(-1);
    this.rowSlot = new Int32Array(rows);
    this.step = 0;
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

  private slotIndex(name: string): number {
    const k = this.slots.findIndex((s) => s.name === name);
    if (k < 0) throw new Error(`no dense parameter ${name}`);
    return k;
  }

  private slot(name: string): DenseSlot {
    return this.slots[this.slotIndex(name)];
  }

  /** Logits of B (user row, item row) pairs given their embedding rows and the flat dense parameters. */
  private forward(ue: Tensor2D, ie: Tensor2D, params: Tensor[], training: boolean): Tensor1D {
    const { tf } = this;
    const { kind, dropout } = this.config;
    const n = ue.shape[0];
    const param = (name: string) => params[this.slotIndex(name)];
    let gmf: Tensor2D | undefined;
    let mlp: Tensor2D | undefined;
    if (this.gmfDim > 0) {
      gmf = this.mlpDim > 0 ? tf.mul(ue.slice([0, 0], [n, this.gmfDim]), ie.slice([0, 0], [n, this.gmfDim])) : tf.mul(ue, ie);
    }
    if (this.mlpDim > 0) {
      let h: Tensor2D =
        this.gmfDim > 0
          ? tf.concat([ue.slice([0, this.gmfDim], [n, this.mlpDim]), ie.slice([0, this.gmfDim], [n, this.mlpDim])], 1)
          : tf.concat([ue, ie], 1);
      for (let l = 1; l < this.config.layers.length; l++) {
        h = tf.relu(tf.add(tf.matMul(h, param(`mlp_${l}/kernel`) as Tensor2D), param(`mlp_${l}/bias`)));
        if (training && dropout > 0) h = tf.dropout(h, dropout) as Tensor2D;
      }
      mlp = h;
    }
    const bias = param('prediction/bias');
    if (kind === 'mf') return tf.add(tf.sum(gmf as Tensor2D, 1), bias) as Tensor1D;
    const features = gmf && mlp ? tf.concat([gmf, mlp], 1) : ((gmf ?? mlp) as Tensor2D);
    return tf.add(tf.matMul(features, param('prediction/kernel') as Tensor2D).reshape([n]), bias) as Tensor1D;
  }

  /**
   * The training forward pass and its backward pass written out by hand: the gradients of the mean
   * binary cross-entropy with respect to the batch's user rows and item rows (stacked, [2B, rowDim]) and
   * to the flat dense parameters. The logits come back to JS, where the loss and its derivative are a few
   * float operations instead of eight kernel calls. Autodiff (tf.valueAndGrads) computes the same values
   * with about twice the kernel calls and its tape bookkeeping; `ncf.model.spec.ts` checks the two agree.
   */
  forwardBackward(
    ue: Tensor2D,
    ie: Tensor2D,
    params: Tensor[],
    labels: Float32Array,
    lap: (phase: keyof StepPhases) => void = () => undefined,
  ): { loss: number; rows: Tensor2D; dense: Tensor1D } {
    const { tf } = this;
    const { kind, dropout, layers } = this.config;
    const n = ue.shape[0];
    const G = this.gmfDim;
    const M = this.mlpDim;
    const param = (name: string) => params[this.slotIndex(name)];
    // Forward.
    let gu: Tensor2D | undefined;
    let gi: Tensor2D | undefined;
    let gmf: Tensor2D | undefined;
    if (G > 0) {
      gu = M > 0 ? ue.slice([0, 0], [n, G]) : ue;
      gi = M > 0 ? ie.slice([0, 0], [n, G]) : ie;
      gmf = tf.mul(gu, gi);
    }
    const hs: Tensor2D[] = [];
    const masks: (Tensor2D | undefined)[] = [];
    if (M > 0) {
      let h: Tensor2D = G > 0 ? tf.concat([ue.slice([0, G], [n, M]), ie.slice([0, G], [n, M])], 1) : tf.concat([ue, ie], 1);
      hs.push(h);
      for (let l = 1; l < layers.length; l++) {
        h = tf.relu(tf.add(tf.matMul(h, param(`mlp_${l}/kernel`) as Tensor2D), param(`mlp_${l}/bias`)));
        let mask: Tensor2D | undefined;
        if (dropout > 0) {
          mask = tf.div(tf.step(tf.sub(tf.randomUniform(h.shape), dropout)), 1 - dropout) as Tensor2D;
          h = tf.mul(h, mask);
        }
        masks.push(mask);
        hs.push(h);
      }
    }
    const mlp = M > 0 ? hs[hs.length - 1] : undefined;
    let features: Tensor2D | undefined;
    let logits: Tensor1D;
    if (kind === 'mf') {
      logits = tf.add(tf.sum(gmf as Tensor2D, 1), param('prediction/bias'));
    } else {
      features = gmf && mlp ? tf.concat([gmf, mlp], 1) : ((gmf ?? mlp) as Tensor2D);
      logits = tf.add(tf.matMul(features, param('prediction/kernel') as Tensor2D).reshape([n]), param('prediction/bias'));
    }
    lap('forward');
    // Loss: mean(softplus(x) − x·y); d loss / d logit = (sigmoid(x) − y) / n.
    const z = logits.dataSync() as Float32Array;
    const dl = new Float32Array(n);
    let lossSum = 0;
    let biasGrad = 0;
    for (let k = 0; k < n; k++) {
      const x = z[k];
      const y = labels[k];
      lossSum += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
      const g = (1 / (1 + Math.exp(-x)) - y) / n;
      dl[k] = g;
      biasGrad += g;
    }
    lap('lossInJs');
    const d2 = tf.tensor2d(dl, [n, 1]);
    const grads: Record<string, Tensor> = { 'prediction/bias': tf.tensor1d([biasGrad]) };
    let dGmf: Tensor2D | undefined;
    let dMlp: Tensor2D | undefined;
    if (kind === 'mf') {
      dGmf = tf.mul(tf.ones([1, G]), d2);
    } else {
      grads['prediction/kernel'] = tf.matMul(features as Tensor2D, d2, true, false);
      const dFeatures = tf.matMul(d2, param('prediction/kernel') as Tensor2D, false, true);
      if (gmf && mlp) {
        dGmf = dFeatures.slice([0, 0], [n, G]);
        dMlp = dFeatures.slice([0, G], [n, (dFeatures.shape[1] as number) - G]);
      } else if (gmf) dGmf = dFeatures;
      else dMlp = dFeatures;
    }
    let dUserMlp: Tensor2D | undefined;
    let dItemMlp: Tensor2D | undefined;
    if (dMlp) {
      let dh = dMlp;
      for (let l = layers.length - 1; l >= 1; l--) {
        const out = hs[l];
        let dz = tf.mul(dh, tf.step(out));
        const mask = masks[l - 1];
        if (mask) dz = tf.mul(dz, mask);
        grads[`mlp_${l}/kernel`] = tf.matMul(hs[l - 1], dz, true, false);
        grads[`mlp_${l}/bias`] = tf.sum(dz, 0);
        dh = tf.matMul(dz, param(`mlp_${l}/kernel`) as Tensor2D, false, true);
      }
      dUserMlp = dh.slice([0, 0], [n, M]);
      dItemMlp = dh.slice([0, M], [n, M]);
    }
    let dU: Tensor2D;
    let dI: Tensor2D;
    if (dGmf && dUserMlp && dItemMlp) {
      dU = tf.concat([tf.mul(dGmf, gi as Tensor2D), dUserMlp], 1);
      dI = tf.concat([tf.mul(dGmf, gu as Tensor2D), dItemMlp], 1);
    } else if (dGmf) {
      dU = tf.mul(dGmf, gi as Tensor2D);
      dI = tf.mul(dGmf, gu as Tensor2D);
    } else {
      dU = dUserMlp as Tensor2D;
      dI = dItemMlp as Tensor2D;
    }
    const dense = tf.concat(this.slots.map((s) => (s.shape.length === 1 ? grads[s.name] : grads[s.name].reshape([s.size])))) as Tensor1D;
    const rows = tf.concat([dU, dI], 0);
    lap('backward');
    return { loss: lossSum / n, rows, dense };
  }

  /** Trains from the current weights (randomly initialised first if there are none). */
  async fit(data: TrainingData, hooks: FitHooks = {}): Promise<FitResult> {
    const { batchSize, negatives, epochs } = this.config;
    if (!this.host || this.numUsers !== data.numUsers || this.numItems !== data.numItems) this.initialize(data.numUsers, data.numItems);
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
    const host = this.host as Float32Array;
    const d = this.rowDim;
    const width = 3 * d;
    this.step++;
    const { optimizer, learningRate } = this.config;
    const t = this.step;
    const lr = optimizer === 'adam' ? (learningRate * Math.sqrt(1 - B2 ** t)) / (1 - B1 ** t) : learningRate;
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
      const off = epochIds[base + k] * width;
      rows.set(host.subarray(off, off + d), k * d);
    }
    const params = this.params;
    lap('gatherRows');
    const labels = epochLabels.subarray(start, start + size);
    const out = tf.tidy(() => {
      const batch = tf.tensor2d(rows, [count, d]);
      return this.forwardBackward(batch.slice([0, 0], [size, d]), batch.slice([size, 0], [size, d]), params, labels, lap);
    });
    const rowGrads = out.rows.dataSync() as Float32Array;
    const denseGrads = out.dense.dataSync() as Float32Array;
    out.rows.dispose();
    out.dense.dispose();
    lap('downloadGradients');
    this.updateRows(epochIds, base, count, rowGrads, lr);
    lap('sparseRowAdam');
    applyAdam(this.denseHost as Float32Array, 0, this.denseSize, this.denseSize, denseGrads, 0, lr, this.config);
    this.dropCaches();
    lap('denseAdam');
    return out.loss;
  }

  /**
   * Sums the gradients of rows that occur more than once in the batch, then applies Adam (or SGD) to
   * those rows and their moments only, in place: rows not in the batch keep their values and moments,
   * as with TF's LazyAdam. `lr` already carries Adam's bias correction of this step.
   */
  private updateRows(ids: Int32Array, base: number, count: number, grads: Float32Array, lr: number): void {
    const host = this.host as Float32Array;
    const d = this.rowDim;
    const stamp = this.rowStamp;
    const slotOf = this.rowSlot;
    if (this.scratchRows.length < count) {
      this.scratchRows = new Int32Array(count);
      this.scratchSums = new Float32Array(count * d);
    }
    const unique = this.scratchRows;
    const sum = this.scratchSums;
    sum.fill(0, 0, count * d);
    let k = 0;
    for (let p = 0; p < count; p++) {
      const row = ids[base + p];
      let slot: number;
      if (stamp[row] !== this.step) {
        stamp[row] = this.step;
        slot = k++;
        slotOf[row] = slot;
        unique[slot] = row;
      } else {
        slot = slotOf[row];
      }
      const g = p * d;
      const o = slot * d;
      for (let j = 0; j < d; j++) sum[o + j] += grads[g + j];
    }
    const { l2 } = this.config;
    if (this.config.optimizer === 'sgd') {
      for (let slot = 0; slot < k; slot++) applyAdam(host, unique[slot] * 3 * d, d, d, sum, slot * d, lr, this.config);
      return;
    }
    // Adam, inlined: this loop runs for every embedding value of the batch.
    for (let slot = 0; slot < k; slot++) {
      const at = unique[slot] * 3 * d;
      const from = slot * d;
      for (let j = 0; j < d; j++) {
        const w = host[at + j];
        const g = sum[from + j] + l2 * w;
        const m = B1 * host[at + d + j] + (1 - B1) * g;
        const v = B2 * host[at + 2 * d + j] + (1 - B2) * g * g;
        host[at + d + j] = m;
        host[at + 2 * d + j] = v;
        host[at + j] = w - (lr * m) / (Math.sqrt(v) + EPS);
      }
    }
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    const { tf } = this;
    const out = new Float32Array(users.length);
    const chunk = 16384;
    for (let start = 0; start < users.length; start += chunk) {
      const end = Math.min(users.length, start + chunk);
      const scores = tf.tidy(() => {
        const u = tf.gather(this.table as Tensor2D, tf.tensor1d(users.subarray(start, end), 'int32'));
        const i = tf.gather(
          this.table as Tensor2D,
          tf.add(tf.tensor1d(items.subarray(start, end), 'int32'), tf.scalar(this.numUsers, 'int32')),
        );
        return this.forward(u, i, this.params, false);
      });
      out.set(scores.dataSync() as Float32Array, start);
      scores.dispose();
    }
    return out;
  }

  /**
   * Scores of every item for one user without re-running the network per item: the item-side part of the
   * first MLP layer (item embedding · its half of the kernel + bias) and the item GMF embeddings are
   * computed once per model; a user adds their half and runs the rest of the tower over all items.
   */
  scoreUser(user: number): Float32Array {
    const { tf } = this;
    const scorer = this.prepareScorer();
    const scores = tf.tidy(() => {
      const n = this.numItems;
      const u = scorer.user.slice([user, 0], [1, this.rowDim]);
      const params = this.params;
      const param = (name: string) => params[this.slotIndex(name)];
      let gmf: Tensor2D | undefined;
      let mlp: Tensor2D | undefined;
      if (this.gmfDim > 0 && scorer.itemGmf) gmf = tf.mul(scorer.itemGmf, u.slice([0, 0], [1, this.gmfDim]));
      if (this.mlpDim > 0 && scorer.itemMlpA) {
        const layers = this.config.layers;
        const k1 = param('mlp_1/kernel') as Tensor2D;
        const userPart = tf.matMul(u.slice([0, this.gmfDim], [1, this.mlpDim]), k1.slice([0, 0], [this.mlpDim, layers[1]]));
        let h = tf.relu(tf.add(scorer.itemMlpA, userPart)) as Tensor2D;
        for (let l = 2; l < layers.length; l++)
          h = tf.relu(tf.add(tf.matMul(h, param(`mlp_${l}/kernel`) as Tensor2D), param(`mlp_${l}/bias`)));
        mlp = h;
      }
      const bias = param('prediction/bias');
      if (this.config.kind === 'mf') return tf.add(tf.sum(gmf as Tensor2D, 1), bias);
      const features = gmf && mlp ? tf.concat([gmf, mlp], 1) : ((gmf ?? mlp) as Tensor2D);
      return tf.add(tf.matMul(features, param('prediction/kernel') as Tensor2D).reshape([n]), bias);
    });
    const result = scores.dataSync() as Float32Array;
    scores.dispose();
    return result;
  }

  private prepareScorer(): NonNullable<NcfModel['scorer']> {
    if (this.scorer) return this.scorer;
    const { tf } = this;
    const table = this.table as Tensor2D;
    this.scorer = tf.tidy(() => {
      const user = table.slice([0, 0], [this.numUsers, this.rowDim]);
      const items = table.slice([this.numUsers, 0], [this.numItems, this.rowDim]);
      const itemGmf = this.gmfDim > 0 ? items.slice([0, 0], [this.numItems, this.gmfDim]) : undefined;
      let itemMlpA: Tensor2D | undefined;
      if (this.mlpDim > 0) {
        const k1 = this.params[this.slotIndex('mlp_1/kernel')];
        const b1 = this.params[this.slotIndex('mlp_1/bias')];
        itemMlpA = tf.add(
          tf.matMul(
            items.slice([0, this.gmfDim], [this.numItems, this.mlpDim]),
            k1.slice([this.mlpDim, 0], [this.mlpDim, this.config.layers[1]]),
          ),
          b1,
        );
      }
      return { user, itemGmf, itemMlpA };
    });
    return this.scorer;
  }

  private invalidateScorer(): void {
    if (!this.scorer) return;
    this.scorer.user.dispose();
    this.scorer.itemGmf?.dispose();
    this.scorer.itemMlpA?.dispose();
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
  weights(): { table: Float32Array; dense: Record<string, Float32Array> } {
    const flat = this.denseHost;
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
    this.setHost(table, flat);
  }

  async save(dir: string): Promise<void> {
    const { saveNcfAsLayersModel } = await import('./ncf.tfjs-format');
    await saveNcfAsLayersModel(this, dir);
  }

  /** The embeddings, [numUsers + numItems] rows of rowDim floats. */
  tableData(): Float32Array {
    const host = this.host;
    if (!host) throw new Error('the model has no weights yet');
    const d = this.rowDim;
    const rows = this.numUsers + this.numItems;
    const out = new Float32Array(rows * d);
    for (let r = 0; r < rows; r++) out.set(host.subarray(r * 3 * d, r * 3 * d + d), r * d);
    return out;
  }

  dispose(): void {
    this.invalidateScorer();
    this.dropCaches();
    this.host = undefined;
    this.denseHost = undefined;
  }
}

/**
 * Adam (or SGD) in place on `count` parameters at `host[at]`, whose first and second moments follow at
 * `at + stride` and `at + 2 · stride`; gradients from `grads[from]`. `lr` carries the bias correction.
 */
function applyAdam(
  host: Float32Array,
  at: number,
  count: number,
  stride: number,
  grads: Float32Array,
  from: number,
  lr: number,
  config: NcfConfig,
): void {
  const { l2, optimizer } = config;
  for (let j = 0; j < count; j++) {
    const w = host[at + j];
    const g = grads[from + j] + l2 * w;
    if (optimizer === 'sgd') {
      host[at + j] = w - lr * g;
      continue;
    }
    const m = B1 * host[at + stride + j] + (1 - B1) * g;
    const v = B2 * host[at + 2 * stride + j] + (1 - B2) * g * g;
    host[at + stride + j] = m;
    host[at + 2 * stride + j] = v;
    host[at + j] = w - (lr * m) / (Math.sqrt(v) + EPS);
  }
}
