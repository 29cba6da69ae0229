import { Rng } from '@pulse/platform';
import type * as tfTypes from '@tensorflow/tfjs';
import { sortedHas } from '../data/interactions';
import { tfLoaded } from '../tf/tf-backend';
import { layerNorm, relu } from '../tf/tf-ops';
import { cosineToAll } from './ials.model';
import type { EpochReport, FitHooks, FitResult, Recommender, TrainingData, UserSequences } from './model';
import { readInt32, readJson, scorePairsByUser, topScored, writeArray, writeJson } from './model-files';
import { loadTfWeights, saveTfWeights } from './tf-weights';
import { join } from 'node:path';

type Tensor = tfTypes.Tensor;
type Variable = tfTypes.Variable;

export interface SasRecConfig {
  /** Items of history the model reads (the latest ones). */
  maxLen: number;
  factors: number;
  blocks: number;
  dropout: number;
  learningRate: number;
  l2: number;
  batchSize: number;
  epochs: number;
  /** Training windows per user and epoch besides the latest: random earlier windows of long histories. */
  windows: number;
  /**
   * Sessions by time gap (seconds): when > 0, a training window never crosses a gap longer than this, each
   * session is a sequence of its own (GRU4Rec's sessions). 0: a user's whole history is one sequence (SASRec).
   */
  sessionGap: number;
  seed: number;
}

/**
 * The paper's architecture (d = 64, two blocks, dropout 0.2, Adam) with fewer, larger steps for a 610-user
 * dataset; not searched (docs/decisions/0017-recommender-model-zoo.md says why and what the curve shows).
 */
export const SASREC_DEFAULTS: SasRecConfig = {
  maxLen: 50,
  factors: 64,
  blocks: 2,
  dropout: 0.2,
  learningRate: 0.002,
  l2: 0,
  batchSize: 128,
  epochs: 50,
  windows: 3,
  sessionGap: 0,
  seed: 42,
};

/** The parameters, by name (the names of the saved weights). */
type Params = Record<string, Variable>;

/**
 * SASRec (Kang & McAuley 2018, "Self-Attentive Sequential Recommendation") in TensorFlow.js: a user's latest
 * `maxLen` items (time order, left-padded) pass through item + learned position embeddings and `blocks`
 * causal self-attention blocks (layer norm, single-head attention with a causal and a padding mask, residual,
 * point-wise feed-forward); the output at each position, dotted with the (shared) item embeddings, scores the
 * next item. Trained on every position's next item against one sampled negative (binary cross-entropy) with
 * autodiff and Adam. Serving: `scoreUser(u)` reads the training sequence of u; `scoreSequence(recent)` scores
 * the next item after any recent items (oldest first), e.g. from the live state of a user. Both need only the
 * latest `maxLen` items.
 */
export class SasRecModel implements Recommender {
  readonly name = 'sasrec' as const;
  readonly config: SasRecConfig;
  numItems = 0;
  private params?: Params;
  /** Each user's latest `maxLen` training items (item index + 1, 0 = padding), [numUsers × maxLen]. */
  private histories: Int32Array = new Int32Array(0);
  private numUsers = 0;
  /** The dropout masks' xorshift32 state (dropoutMask), never 0. */
  private maskState = 1;
  /** Host copies made when needed after the weights change: item embeddings and each user's representation. */
  private host?: { items: Float32Array; users: Float32Array };

  constructor(config: Partial<SasRecConfig> = {}) {
    this.config = { ...SASREC_DEFAULTS, ...config };
  }

  private get tf() {
    return tfLoaded().tf;
  }

  initialize(numItems: number): void {
    const { tf } = this;
    const { factors: d, maxLen: L, blocks, seed } = this.config;
    const rng = new Rng(seed);
    const normal = (shape: number[], std: number) =>
      tf.variable(
        tf.tensor(
          Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * std),
          shape,
        ),
      );
    const glorot = (a: number, b: number) => normal([a, b], Math.sqrt(2 / (a + b)));
    const params: Params = {
      items: normal([numItems + 1, d], 1 / Math.sqrt(d)),
      positions: normal([L, d], 1 / Math.sqrt(d)),
      'final/gamma': tf.variable(tf.ones([d])),
      'final/beta': tf.variable(tf.zeros([d])),
    };
    for (let b = 0; b < blocks; b++) {
      Object.assign(params, {
        [`b${b}/ln1/gamma`]: tf.variable(tf.ones([d])),
        [`b${b}/ln1/beta`]: tf.variable(tf.zeros([d])),
        [`b${b}/q`]: glorot(d, d),
        [`b${b}/k`]: glorot(d, d),
        [`b${b}/v`]: glorot(d, d),
        [`b${b}/ln2/gamma`]: tf.variable(tf.ones([d])),
        [`b${b}/ln2/beta`]: tf.variable(tf.zeros([d])),
        [`b${b}/ff1`]: glorot(d, d),
        [`b${b}/ff1b`]: tf.variable(tf.zeros([d])),
        [`b${b}/ff2`]: glorot(d, d),
        [`b${b}/ff2b`]: tf.variable(tf.zeros([d])),
      });
    }
    this.disposeParams();
    this.params = params;
    this.numItems = numItems;
    this.host = undefined;
  }

  private p(name: string): Variable {
    const v = this.params?.[name];
    if (!v) throw new Error(`sasrec: no parameter ${name}`);
    return v;
  }

  private layerNorm(x: Tensor, name: string): Tensor {
    return layerNorm(this.tf, x, this.p(`${name}/gamma`), this.p(`${name}/beta`));
  }

  /** [B, L, d] per position: the sequence model's output for item ids `seq` ([B, L], index + 1, 0 = padding). */
  forward(seq: Tensor, training: boolean): Tensor {
    const { tf } = this;
    const { factors: d, maxLen: L, blocks, dropout } = this.config;
    const B = seq.shape[0] as number;
    const drop = (x: Tensor) => (training && dropout > 0 ? tf.mul(x, this.dropoutMask(x.shape, dropout)) : x);
    const mask = tf.cast(tf.notEqual(seq, 0), 'float32').expandDims(2); // [B, L, 1]
    let x = tf.add(tf.mul(tf.gather(this.p('items'), seq), Math.sqrt(d)), this.p('positions'));
    x = tf.mul(drop(x), mask);
    // Position t attends to positions ≤ t that hold an item: causal mask plus key padding mask.
    const causal = tf.linalg.bandPart(tf.ones([L, L]), -1, 0);
    const allowed = tf.mul(causal.expandDims(0), mask.reshape([B, 1, L]));
    const blocked = tf.mul(tf.sub(1, allowed), -1e9);
    const flat = (t: Tensor) => t.reshape([B * L, d]);
    for (let b = 0; b < blocks; b++) {
      const q = this.layerNorm(x, `b${b}/ln1`);
      const Q = tf.matMul(flat(q), this.p(`b${b}/q`)).reshape([B, L, d]);
      const K = tf.matMul(flat(x), this.p(`b${b}/k`)).reshape([B, L, d]);
      const V = tf.matMul(flat(x), this.p(`b${b}/v`)).reshape([B, L, d]);
      const scores = tf.add(tf.div(tf.matMul(Q, K, false, true), Math.sqrt(d)), blocked);
      const attention = drop(tf.softmax(scores));
      x = tf.add(q, tf.matMul(attention, V));
      x = this.layerNorm(x, `b${b}/ln2`);
      const hidden = drop(relu(tf, tf.add(tf.matMul(flat(x), this.p(`b${b}/ff1`)), this.p(`b${b}/ff1b`))));
      const ff = drop(tf.add(tf.matMul(hidden, this.p(`b${b}/ff2`)), this.p(`b${b}/ff2b`)));
      x = tf.mul(tf.add(x, ff.reshape([B, L, d])), mask);
    }
    return this.layerNorm(x, 'final');
  }

  /**
   * An inverted-dropout mask (0, or 1 / (1 − rate)) drawn in JavaScript with xorshift32, two 16-bit uniforms
   * per draw, and uploaded as one tensor: tf.dropout draws its uniforms with seedrandom (~300 ms of CPU for one
   * [128, 50, 64] mask, most of a step), and a hash of the element index in native kernels took nine kernels a
   * mask (about a sixth of a step).
   */
  private dropoutMask(shape: number[], rate: number): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    const mask = new Float32Array(size);
    const keep = 1 / (1 - rate);
    const threshold = Math.round(rate * 65536);
    let x = this.maskState;
    for (let i = 0; i < size; i += 2) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      mask[i] = (x & 0xffff) < threshold ? 0 : keep;
      if (i + 1 < size) mask[i + 1] = x >>> 16 < threshold ? 0 : keep;
    }
    this.maskState = x;
    return this.tf.tensor(mask, shape);
  }

  /** Binary cross-entropy of every position's next item against a negative, over the positions that hold one. */
  loss(seq: Tensor, positives: Tensor, negatives: Tensor): tfTypes.Scalar {
    const { tf } = this;
    const h = this.forward(seq, true);
    const items = this.p('items');
    const pos = tf.sum(tf.mul(h, tf.gather(items, positives)), -1);
    const neg = tf.sum(tf.mul(h, tf.gather(items, negatives)), -1);
    const weight = tf.cast(tf.notEqual(positives, 0), 'float32');
    const bce = tf.add(tf.softplus(tf.neg(pos)), tf.softplus(neg));
    let loss = tf.div(tf.sum(tf.mul(bce, weight)), tf.maximum(tf.sum(weight), 1));
    if (this.config.l2 > 0) loss = tf.add(loss, tf.mul(this.config.l2, tf.sum(tf.square(items))));
    return loss as tfTypes.Scalar;
  }

  /** Training sequences: each user's interactions in time order, cut at gaps longer than `sessionGap` when set. */
  private trainingSequences(seqs: UserSequences): { user: number; items: Int32Array }[] {
    const out: { user: number; items: Int32Array }[] = [];
    const gap = this.config.sessionGap;
    for (let u = 0; u + 1 < seqs.offsets.length; u++) {
      let start = seqs.offsets[u];
      const end = seqs.offsets[u + 1];
      for (let p = start + 1; p <= end; p++) {
        if (p === end || (gap > 0 && seqs.timestamps[p] - seqs.timestamps[p - 1] > gap)) {
          if (p - start >= 2) out.push({ user: u, items: seqs.items.subarray(start, p) });
          start = p;
        }
      }
    }
    return out;
  }

  async fit(data: TrainingData, hooks: FitHooks = {}): Promise<FitResult> {
    const { tf } = this;
    const { maxLen: L, batchSize, epochs, windows, learningRate } = this.config;
    this.initialize(data.numItems);
    this.setHistories(data.sequences, data.numUsers);
    const sequences = this.trainingSequences(data.sequences);
    const variables = Object.values(this.params ?? {});
    const rng = new Rng(this.config.seed + 7);
    this.maskState = (new Rng(this.config.seed + 11).int(0x7fffffff) | 1) >>> 0;
    const optimizer = tf.train.adam(learningRate, 0.9, 0.98);
    const losses: number[] = [];
    let seconds = 0;
    let samples = 0;
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      // Windows: (sequence, end) pairs; the window is the L + 1 items ending at `end` (exclusive).
      const picks: [number, number][] = [];
      sequences.forEach(({ items: s }, k) => {
        picks.push([k, s.length]);
        const extra = Math.min(windows, Math.floor((s.length - 1) / L));
        for (let w = 0; w < extra; w++) picks.push([k, 2 + rng.int(s.length - 1)]);
      });
      const order = Int32Array.from(picks.keys());
      rng.shuffle(order);
      let lossSum = 0;
      let positions = 0;
      const batches = Math.ceil(order.length / batchSize);
      for (let b = 0; b < batches; b++) {
        const size = Math.min(batchSize, order.length - b * batchSize);
        const input = new Int32Array(size * L);
        const pos = new Int32Array(size * L);
        const neg = new Int32Array(size * L);
        let filled = 0;
        for (let r = 0; r < size; r++) {
          const [k, end] = picks[order[b * batchSize + r]];
          const { user, items: s } = sequences[k];
          const seen = data.byUser.items.subarray(data.byUser.offsets[user], data.byUser.offsets[user + 1]);
          const start = Math.max(0, end - L - 1);
          // Right-aligned: input s[start .. end-2], targets s[start+1 .. end-1].
          const n = end - 1 - start;
          for (let t = 0; t < n; t++) {
            const at = r * L + (L - n + t);
            input[at] = s[start + t] + 1;
            pos[at] = s[start + t + 1] + 1;
            let j = rng.int(data.numItems);
            for (let tries = 0; tries < 20 && sortedHas(seen, j); tries++) j = rng.int(data.numItems);
            neg[at] = j + 1;
          }
          filled += n;
        }
        const loss = tf.tidy(
          () =>
            optimizer.minimize(
              () =>
                this.loss(
                  tf.tensor2d(input, [size, L], 'int32'),
                  tf.tensor2d(pos, [size, L], 'int32'),
                  tf.tensor2d(neg, [size, L], 'int32'),
                ),
              true,
              variables,
            ) as tfTypes.Scalar,
        );
        lossSum += loss.dataSync()[0] * filled;
        loss.dispose();
        positions += filled;
        if (hooks.onBatch) hooks.onBatch(epoch, b + 1, batches, lossSum / Math.max(positions, 1));
      }
      const epochSeconds = (performance.now() - started) / 1000;
      seconds += epochSeconds;
      // A sample is one scored (position, item) pair: a positive and a negative per position.
      samples += 2 * positions;
      losses.push(lossSum / Math.max(positions, 1));
      this.host = undefined;
      const report: EpochReport = { epoch, epochs, loss: lossSum / Math.max(positions, 1), samples: 2 * positions, seconds: epochSeconds };
      await hooks.onEpoch?.(report);
    }
    optimizer.dispose();
    return { epochs, samples, seconds, samplesPerSecond: samples / Math.max(seconds, 1e-9), losses };
  }

  /** Each user's latest `maxLen` items, right-aligned (index + 1, 0 = padding). */
  private setHistories(seqs: UserSequences, numUsers: number): void {
    const L = this.config.maxLen;
    this.numUsers = numUsers;
    this.histories = new Int32Array(numUsers * L);
    for (let u = 0; u < numUsers; u++) {
      const end = seqs.offsets[u + 1];
      const start = Math.max(seqs.offsets[u], end - L);
      for (let p = start; p < end; p++) this.histories[u * L + L - (end - p)] = seqs.items[p] + 1;
    }
    this.host = undefined;
  }

  /** The last position's output for each row of `seqs` ([rows × maxLen]), [rows × d]. */
  private represent(seqs: Int32Array, rows: number): Float32Array {
    const { tf } = this;
    const { maxLen: L, factors: d } = this.config;
    const out = new Float32Array(rows * d);
    const chunk = 256;
    for (let start = 0; start < rows; start += chunk) {
      const n = Math.min(chunk, rows - start);
      const h = tf.tidy(() => {
        const x = this.forward(tf.tensor2d(seqs.subarray(start * L, (start + n) * L), [n, L], 'int32'), false);
        return x.slice([0, L - 1, 0], [n, 1, d]).reshape([n, d]);
      });
      out.set(h.dataSync() as Float32Array, start * d);
      h.dispose();
    }
    return out;
  }

  private hostWeights(): { items: Float32Array; users: Float32Array } {
    this.host ??= { items: this.p('items').dataSync() as Float32Array, users: this.represent(this.histories, this.numUsers) };
    return this.host;
  }

  /** Scores of every item for a representation `h` (d floats). */
  private scoreAll(h: Float32Array, offset: number): Float32Array {
    const d = this.config.factors;
    const { items } = this.hostWeights();
    const out = new Float32Array(this.numItems);
    for (let i = 0; i < this.numItems; i++) {
      let s = 0;
      const o = (i + 1) * d;
      for (let f = 0; f < d; f++) s += h[offset + f] * items[o + f];
      out[i] = s;
    }
    return out;
  }

  scoreUser(user: number): Float32Array {
    if (user < 0 || user >= this.numUsers) return new Float32Array(this.numItems);
    return this.scoreAll(this.hostWeights().users, user * this.config.factors);
  }

  /** Scores of every item as the next one after `recent` (item indices, oldest first; unknown indices are skipped). */
  scoreSequence(recent: readonly number[]): Float32Array {
    const L = this.config.maxLen;
    const known = recent.filter((i) => i >= 0 && i < this.numItems).slice(-L);
    const seq = new Int32Array(L);
    known.forEach((item, k) => (seq[L - known.length + k] = item + 1));
    return this.scoreAll(this.represent(seq, 1), 0);
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    return scorePairsByUser((u) => this.scoreUser(u), users, items);
  }

  /** Cosine of the item embeddings. */
  similarItems(item: number, k: number): { items: Int32Array; scores: Float32Array } {
    const d = this.config.factors;
    const items = this.hostWeights().items.subarray(d);
    return topScored(cosineToAll(items, this.numItems, d, item), k, item);
  }

  async save(dir: string): Promise<void> {
    if (!this.params) throw new Error('sasrec: the model has no weights yet');
    writeJson(dir, 'sasrec', { config: this.config, numItems: this.numItems, numUsers: this.numUsers });
    writeArray(join(dir, 'sasrec.histories.bin'), this.histories);
    saveTfWeights(dir, 'sasrec', this.params);
  }

  static load(dir: string): SasRecModel {
    const { tf } = tfLoaded();
    const meta = readJson<{ config: SasRecConfig; numItems: number; numUsers: number }>(dir, 'sasrec');
    const model = new SasRecModel(meta.config);
    model.numItems = meta.numItems;
    model.numUsers = meta.numUsers;
    model.histories = readInt32(join(dir, 'sasrec.histories.bin'));
    const weights = loadTfWeights(dir, 'sasrec');
    model.params = Object.fromEntries(Object.entries(weights).map(([name, t]) => [name, tf.variable(t)]));
    tf.dispose(Object.values(weights));
    return model;
  }

  private disposeParams(): void {
    if (this.params) this.tf.dispose(Object.values(this.params));
    this.params = undefined;
  }

  dispose(): void {
    this.disposeParams();
    this.host = undefined;
  }
}
