import type * as tfTypes from '@tensorflow/tfjs';
import { Rng } from '../data/rng';
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
  if (!(config.batchSize >= 1 && config.negatives >= 0 && config.epochs >= 0 && config.learningRate > 0)) throw new RangeError('bad training settings');
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
  uploadMs: number;
  stepMs: number;
  steps: number;
}

const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-7;

/**
 * MF, GMF, MLP and NeuMF (He et al. 2017) in TensorFlow.js with a hand-built training step: the user and
 * item embeddings of every kind live in one table whose rows also carry their Adam moments, so a step is
 * one gather, the network's forward and hand-written backward on the gathered rows, a segment sum
 * over the unique rows of the batch and one scatter of their updated values and moments (a lazy, sparse
 * Adam as TF's LazyAdam or PyTorch's SparseAdam); the dense weights are one flat vector with one Adam
 * update. A whole epoch of sampled (user, item, label) triples is uploaded once and sliced per batch.
 * Layers' fit/trainOnBatch spends most of a step in bookkeeping and dense updates of whole embedding
 * tables; see docs/decisions/0012-recommender-tfjs.md for the measurements.
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
  /** [numUsers + numItems, rowDim]: user rows first, then item rows; each row is [gmf | mlp]. */
  private table?: Tensor2D;
  private tableMoments?: Tensor2D;
  private dense?: Tensor1D;
  private denseMoments?: Tensor1D;
  private step = 0;
  private scorer?: { user: Tensor2D; itemGmf?: Tensor2D; itemMlpA?: Tensor2D };
  readonly profile: StepProfile = { samplingMs: 0, uploadMs: 0, stepMs: 0, steps: 0 };

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

  private constantsCache?: AdamConstants;

  private constants(): AdamConstants {
    if (!this.constantsCache) {
      const { tf } = this;
      this.constantsCache = {
        b1: tf.keep(tf.scalar(B1)),
        oneMinusB1: tf.keep(tf.scalar(1 - B1)),
        b2: tf.keep(tf.scalar(B2)),
        oneMinusB2: tf.keep(tf.scalar(1 - B2)),
        eps: tf.keep(tf.scalar(EPS)),
        l2: tf.keep(tf.scalar(this.config.l2)),
      };
    }
    return this.constantsCache;
  }

  private get tf(): Tf {
    return tfLoaded().tf;
  }

  /** Random initialisation: N(0, initStd) embeddings, Glorot-uniform hidden layers, LeCun-uniform output. */
  initialize(numUsers: number, numItems: number): void {
    const { tf } = this;
    const rng = new Rng(this.config.seed);
    this.disposeTensors();
    this.numUsers = numUsers;
    this.numItems = numItems;
    const rows = numUsers + numItems;
    const table = new Float32Array(rows * this.rowDim);
    for (let k = 0; k < table.length; k++) table[k] = rng.normal() * this.config.initStd;
    const dense = new Float32Array(this.denseSize);
    for (const slot of this.slots) {
      if (slot.shape.length !== 2) continue;
      const [fanIn, fanOut] = slot.shape;
      const limit = slot.name.startsWith('prediction') ? Math.sqrt(3 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
      for (let k = 0; k < slot.size; k++) dense[slot.offset + k] = (rng.next() * 2 - 1) * limit;
    }
    this.table = tf.tensor2d(table, [rows, this.rowDim]);
    this.dense = tf.tensor1d(dense);
    this.resetOptimizer();
  }

  /**
   * NeuMF from converged GMF and MLP models (paper §3.4.1): their embeddings and layers as they are, the
   * output layer the α-weighted concatenation of theirs. The paper then trains with plain SGD.
   */
  initializeFromPretrained(gmf: NcfModel, mlp: NcfModel): void {
    if (this.config.kind !== 'neumf' || gmf.config.kind !== 'gmf' || mlp.config.kind !== 'mlp') throw new Error('pretraining combines a GMF and an MLP into a NeuMF');
    if (gmf.numUsers !== mlp.numUsers || gmf.numItems !== mlp.numItems) throw new Error('GMF and MLP were trained on different id spaces');
    const { tf } = this;
    this.disposeTensors();
    this.numUsers = gmf.numUsers;
    this.numItems = gmf.numItems;
    const g = gmf.weights();
    const m = mlp.weights();
    const a = this.config.alpha;
    this.table = tf.concat([g.table, m.table], 1) as Tensor2D;
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
    this.dense = tf.tensor1d(dense);
    g.table.dispose();
    m.table.dispose();
    this.resetOptimizer();
  }

  private resetOptimizer(): void {
    const { tf } = this;
    this.tableMoments?.dispose();
    this.denseMoments?.dispose();
    this.tableMoments = tf.zeros([this.numUsers + this.numItems, 2 * this.rowDim]);
    this.denseMoments = tf.zeros([2 * this.denseSize]);
    this.step = 0;
    this.invalidateScorer();
  }

  private slotIndex(name: string): number {
    const k = this.slots.findIndex((s) => s.name === name);
    if (k < 0) throw new Error(`no dense parameter ${name}`);
    return k;
  }

  /** The dense parameters as tensors of their shapes, sliced from the flat vector. */
  private unflatten(dense: Tensor1D): Tensor[] {
    return this.slots.map((s) => {
      const flat = dense.slice(s.offset, s.size);
      return s.shape.length === 1 ? flat : flat.reshape(s.shape);
    });
  }

  private slot(name: string): DenseSlot {
    const slot = this.slots.find((s) => s.name === name);
    if (!slot) throw new Error(`no dense parameter ${name}`);
    return slot;
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
   * to the flat dense parameters. Autodiff (tf.valueAndGrads) computes the same values with about twice
   * the kernel calls and its tape bookkeeping; `ncf.model.spec.ts` checks the two agree.
   */
  forwardBackward(ue: Tensor2D, ie: Tensor2D, params: Tensor[], y: Tensor1D): { loss: Tensor; rows: Tensor2D; dense: Tensor1D } {
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
    const loss = tf.mean(tf.sub(tf.softplus(logits), tf.mul(logits, y)));
    // Backward: d loss / d logit = (sigmoid(logit) - y) / n.
    const dLogit = tf.mul(tf.sub(tf.sigmoid(logits), y), tf.scalar(1 / n));
    const grads: Record<string, Tensor> = { 'prediction/bias': tf.sum(dLogit).reshape([1]) };
    let dGmf: Tensor2D | undefined;
    let dMlp: Tensor2D | undefined;
    if (kind === 'mf') {
      dGmf = tf.mul(tf.ones([1, G]), dLogit.reshape([n, 1]));
    } else {
      const d2 = dLogit.reshape([n, 1]) as Tensor2D;
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
    return { loss, rows: tf.concat([dU, dI], 0), dense };
  }

  /** Trains from the current weights (randomly initialised first if there are none). */
  async fit(data: TrainingData, hooks: FitHooks = {}): Promise<FitResult> {
    const { tf } = this;
    const { batchSize, negatives, epochs } = this.config;
    if (!this.table || this.numUsers !== data.numUsers || this.numItems !== data.numItems) this.initialize(data.numUsers, data.numItems);
    const rng = new Rng(this.config.seed + 7);
    const losses: number[] = [];
    let samples = 0;
    let seconds = 0;
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      const sampled = this.sampleEpoch(data, negatives, batchSize, rng);
      const t1 = performance.now();
      const ids = tf.tensor1d(sampled.ids, 'int32');
      const labels = tf.tensor1d(sampled.labels, 'float32');
      const t2 = performance.now();
      const n = sampled.labels.length;
      const batches = Math.ceil(n / batchSize);
      let lossSum: Tensor = tf.scalar(0);
      for (let b = 0; b < batches; b++) {
        const size = Math.min(batchSize, n - b * batchSize);
        const batchLoss = this.trainStep(ids, labels, b * batchSize, size);
        const next = tf.add(lossSum, tf.mul(batchLoss, size));
        lossSum.dispose();
        batchLoss.dispose();
        lossSum = next;
        if (hooks.onBatch && (b % 50 === 49 || b === batches - 1)) {
          hooks.onBatch(epoch, b + 1, batches, (lossSum.dataSync()[0] as number) / ((b * batchSize) + size));
        }
      }
      const loss = (lossSum.dataSync()[0] as number) / n;
      lossSum.dispose();
      ids.dispose();
      labels.dispose();
      const t3 = performance.now();
      this.profile.samplingMs += t1 - started;
      this.profile.uploadMs += t2 - t1;
      this.profile.stepMs += t3 - t2;
      this.profile.steps += batches;
      const epochSeconds = (t3 - started) / 1000;
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

  /** One optimisation step on rows [start, start + size) of the epoch tensors; returns the batch's mean loss. */
  private trainStep(epochIds: Tensor1D, epochLabels: Tensor1D, start: number, size: number): Tensor {
    const { tf } = this;
    const table = this.table as Tensor2D;
    const moments = this.tableMoments as Tensor2D;
    const dense = this.dense as Tensor1D;
    const denseMoments = this.denseMoments as Tensor1D;
    const { optimizer, learningRate, l2 } = this.config;
    this.step++;
    const t = this.step;
    const lr = optimizer === 'adam' ? (learningRate * Math.sqrt(1 - B2 ** t)) / (1 - B1 ** t) : learningRate;
    const nativeSegmentSum = tfLoaded().backend === 'tensorflow';
    const c = this.constants();
    const out = tf.tidy(() => {
      const lrT = tf.scalar(lr);
      const ids = epochIds.slice(2 * start, 2 * size);
      const y = epochLabels.slice(start, size);
      const rows = tf.gather(table, ids);
      const ue = rows.slice([0, 0], [size, this.rowDim]);
      const ie = rows.slice([size, 0], [size, this.rowDim]);
      const { loss: value, rows: rowGrads, dense: denseGrads } = this.forwardBackward(ue, ie, this.unflatten(dense), y);
      // Embedding rows: sum the gradients of repeated rows, then update only the rows of this batch.
      let gRows = rowGrads;
      const { values: unique, indices } = tf.unique(ids);
      const k = unique.shape[0];
      gRows = nativeSegmentSum
        ? (tf.unsortedSegmentSum(gRows, indices, k) as Tensor2D)
        : tf.matMul(tf.oneHot(indices, k), gRows, true, false); // the wasm backend has no UnsortedSegmentSum
      const current = tf.gather(table, unique);
      if (l2 > 0) gRows = tf.add(gRows, tf.mul(current, c.l2));
      let gDense = denseGrads;
      if (l2 > 0) gDense = tf.add(gDense, tf.mul(dense, c.l2));
      const where = unique.reshape([k, 1]);
      if (optimizer === 'sgd') {
        const newRows = tf.sub(current, tf.mul(gRows, lrT));
        return { loss: value, table: tf.tensorScatterUpdate(table, where, newRows), dense: tf.sub(dense, tf.mul(gDense, lrT)) };
      }
      const mv = tf.gather(moments, unique);
      const rowUpdate = adam(tf, c, current, mv.slice([0, 0], [k, this.rowDim]), mv.slice([0, this.rowDim], [k, this.rowDim]), gRows, lrT);
      const d = this.denseSize;
      const denseUpdate = adam(tf, c, dense, denseMoments.slice(0, d), denseMoments.slice(d, d), gDense, lrT);
      return {
        loss: value,
        table: tf.tensorScatterUpdate(table, where, rowUpdate.param),
        moments: tf.tensorScatterUpdate(moments, where, tf.concat([rowUpdate.m, rowUpdate.v], 1)),
        dense: denseUpdate.param,
        denseMoments: tf.concat([denseUpdate.m, denseUpdate.v]),
      };
    });
    table.dispose();
    dense.dispose();
    this.table = out.table as Tensor2D;
    this.dense = out.dense as Tensor1D;
    if (out.moments) {
      moments.dispose();
      denseMoments.dispose();
      this.tableMoments = out.moments as Tensor2D;
      this.denseMoments = out.denseMoments as Tensor1D;
    }
    return out.loss;
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    const { tf } = this;
    const out = new Float32Array(users.length);
    const chunk = 16384;
    for (let start = 0; start < users.length; start += chunk) {
      const end = Math.min(users.length, start + chunk);
      const scores = tf.tidy(() => {
        const u = tf.gather(this.table as Tensor2D, tf.tensor1d(users.subarray(start, end), 'int32'));
        const i = tf.gather(this.table as Tensor2D, tf.add(tf.tensor1d(items.subarray(start, end), 'int32'), tf.scalar(this.numUsers, 'int32')));
        return this.forward(u, i, this.unflatten(this.dense as Tensor1D), false);
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
      const param = (name: string) => {
        const s = this.slot(name);
        const flat = (this.dense as Tensor1D).slice(s.offset, s.size);
        return s.shape.length === 1 ? flat : flat.reshape(s.shape);
      };
      let gmf: Tensor2D | undefined;
      let mlp: Tensor2D | undefined;
      if (this.gmfDim > 0 && scorer.itemGmf) gmf = tf.mul(scorer.itemGmf, u.slice([0, 0], [1, this.gmfDim]));
      if (this.mlpDim > 0 && scorer.itemMlpA) {
        const layers = this.config.layers;
        const k1 = param('mlp_1/kernel') as Tensor2D;
        const userPart = tf.matMul(u.slice([0, this.gmfDim], [1, this.mlpDim]), k1.slice([0, 0], [this.mlpDim, layers[1]]));
        let h = tf.relu(tf.add(scorer.itemMlpA, userPart)) as Tensor2D;
        for (let l = 2; l < layers.length; l++) h = tf.relu(tf.add(tf.matMul(h, param(`mlp_${l}/kernel`) as Tensor2D), param(`mlp_${l}/bias`)));
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
        const s = this.slot('mlp_1/kernel');
        const k1 = (this.dense as Tensor1D).slice(s.offset, s.size).reshape(s.shape) as Tensor2D;
        const b1 = (this.dense as Tensor1D).slice(this.slot('mlp_1/bias').offset, this.config.layers[1]);
        itemMlpA = tf.add(tf.matMul(items.slice([0, this.gmfDim], [this.numItems, this.mlpDim]), k1.slice([this.mlpDim, 0], [this.mlpDim, this.config.layers[1]])), b1);
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

  /** The weights as host arrays: the embedding table and each dense parameter by name. */
  weights(): { table: Tensor2D; dense: Record<string, Float32Array> } {
    const flat = (this.dense as Tensor1D).dataSync() as Float32Array;
    const dense: Record<string, Float32Array> = {};
    for (const s of this.slots) dense[s.name] = flat.slice(s.offset, s.offset + s.size);
    return { table: (this.table as Tensor2D).clone(), dense };
  }

  /** Replaces the weights (after loading a saved model). */
  setWeights(numUsers: number, numItems: number, table: Float32Array, dense: Record<string, Float32Array>): void {
    const { tf } = this;
    this.disposeTensors();
    this.numUsers = numUsers;
    this.numItems = numItems;
    if (table.length !== (numUsers + numItems) * this.rowDim) throw new Error('embedding table has the wrong size');
    this.table = tf.tensor2d(table, [numUsers + numItems, this.rowDim]);
    const flat = new Float32Array(this.denseSize);
    for (const s of this.slots) {
      const w = dense[s.name];
      if (!w || w.length !== s.size) throw new Error(`dense parameter ${s.name} is missing or has the wrong size`);
      flat.set(w, s.offset);
    }
    this.dense = tf.tensor1d(flat);
    this.resetOptimizer();
  }

  async save(dir: string): Promise<void> {
    const { saveNcfAsLayersModel } = await import('./ncf.tfjs-format');
    await saveNcfAsLayersModel(this, dir);
  }

  tableData(): Float32Array {
    return (this.table as Tensor2D).dataSync() as Float32Array;
  }

  private disposeTensors(): void {
    this.invalidateScorer();
    for (const t of [this.table, this.tableMoments, this.dense, this.denseMoments]) t?.dispose();
    this.table = this.tableMoments = undefined;
    this.dense = this.denseMoments = undefined;
  }

  dispose(): void {
    this.disposeTensors();
    if (this.constantsCache) Object.values(this.constantsCache).forEach((t: Tensor) => t.dispose());
    this.constantsCache = undefined;
  }
}

/** Adam on `param` with its moments; `lr` already carries the bias correction of step t. */
function adam(tf: Tf, c: AdamConstants, param: Tensor, m: Tensor, v: Tensor, g: Tensor, lr: Tensor): { param: Tensor; m: Tensor; v: Tensor } {
  const m1 = tf.add(tf.mul(m, c.b1), tf.mul(g, c.oneMinusB1));
  const v1 = tf.add(tf.mul(v, c.b2), tf.mul(tf.square(g), c.oneMinusB2));
  const next = tf.sub(param, tf.mul(tf.div(m1, tf.add(tf.sqrt(v1), c.eps)), lr));
  return { param: next, m: m1, v: v1 };
}

/** Scalars every step uses, created once (a number argument becomes a new tensor on every call). */
interface AdamConstants {
  b1: Tensor;
  oneMinusB1: Tensor;
  b2: Tensor;
  oneMinusB2: Tensor;
  eps: Tensor;
  l2: Tensor;
}
