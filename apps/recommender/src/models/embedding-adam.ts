const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-7;

/** The settings the optimiser reads (NcfConfig has them; the hybrid passes its own). */
export interface EmbeddingAdamSettings {
  optimizer: 'adam' | 'sgd';
  learningRate: number;
  /** Weight decay: `l2 · w` added to each gradient of an updated value. */
  l2: number;
}

/**
 * Adam (or SGD) for a model's host arrays (NCF's embedding rows and dense weights, the hybrid's user, item and
 * term rows), with its state: the step count and the first and second
 * moments of every embedding value and dense weight, zero at the start. Embedding rows are updated lazily
 * (a sparse Adam, as TF's LazyAdam or PyTorch's SparseAdam): a step sums the gradients of rows that occur
 * more than once in the batch, then updates those rows and their moments only, in place; rows not in the
 * batch keep their values and moments. The dense weights get the same update in one loop. L2 adds
 * `l2 · w` to each gradient.
 */
export class EmbeddingAdam {
  private readonly rowM: Float32Array;
  private readonly rowV: Float32Array;
  private readonly denseM: Float32Array;
  private readonly denseV: Float32Array;
  /** Per table row: the step that last touched it, and its slot among the step's unique rows. */
  private readonly rowStamp: Int32Array;
  private readonly rowSlot: Int32Array;
  /** Reused per step: the batch's unique rows and their summed gradients. */
  private scratchRows = new Int32Array(0);
  private scratchSums = new Float32Array(0);
  private step = 0;
  /** This step's learning rate, with Adam's bias correction folded in. */
  private lr = 0;

  constructor(
    private readonly settings: EmbeddingAdamSettings,
    rows: number,
    private readonly rowDim: number,
    denseSize: number,
  ) {
    this.rowM = new Float32Array(rows * rowDim);
    this.rowV = new Float32Array(rows * rowDim);
    this.denseM = new Float32Array(denseSize);
    this.denseV = new Float32Array(denseSize);
    this.rowStamp = new Int32Array(rows).fill(-1);
    this.rowSlot = new Int32Array(rows);
  }

  /** Starts the next step; `updateRows` and `updateDense` then apply its gradients. */
  nextStep(): void {
    const t = ++this.step;
    const { optimizer, learningRate } = this.settings;
    this.lr = optimizer === 'adam' ? (learningRate * Math.sqrt(1 - B2 ** t)) / (1 - B1 ** t) : learningRate;
  }

  /**
   * Updates the rows `ids[base .. base + count)` of `table` ([rows × rowDim]) from their gradients `grads`
   * ([count × rowDim], one per occurrence).
   */
  updateRows(table: Float32Array, ids: Int32Array, base: number, count: number, grads: Float32Array): void {
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
    for (let slot = 0; slot < k; slot++) this.apply(table, this.rowM, this.rowV, unique[slot] * d, d, sum, slot * d);
  }

  /** Updates the dense weights from their gradients (both flat, in `slots` order). */
  updateDense(dense: Float32Array, grads: Float32Array): void {
    this.apply(dense, this.denseM, this.denseV, 0, dense.length, grads, 0);
  }

  /** The update of `count` values `w[at ..]` and their moments, from the gradients `grads[from ..]`. */
  private apply(w: Float32Array, m: Float32Array, v: Float32Array, at: number, count: number, grads: Float32Array, from: number): void {
    const { l2, optimizer } = this.settings;
    const lr = this.lr;
    if (optimizer === 'sgd') {
      for (let j = 0; j < count; j++) {
        const x = w[at + j];
        const g = grads[from + j] + l2 * x;
        w[at + j] = x - lr * g;
      }
      return;
    }
    for (let j = 0; j < count; j++) {
      const i = at + j;
      const x = w[i];
      const g = grads[from + j] + l2 * x;
      const mi = B1 * m[i] + (1 - B1) * g;
      const vi = B2 * v[i] + (1 - B2) * g * g;
      m[i] = mi;
      v[i] = vi;
      w[i] = x - (lr * mi) / (Math.sqrt(vi) + EPS);
    }
  }
}
