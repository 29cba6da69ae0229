/**
 * The hybrid two-tower model's parameters as one host table of rows: users, then items, then terms (each
 * `dim` floats), so one EmbeddingAdam holds the moments of all three and updates the rows a batch touched.
 */
export interface HybridTable {
  dim: number;
  numUsers: number;
  numItems: number;
  numTerms: number;
  /** [(numUsers + numItems + numTerms) × dim]. */
  values: Float32Array;
}

/** Each item's top terms and their TF-IDF weights, padded with weight 0: [numItems × maxTerms] each. */
export interface PaddedTerms {
  maxTerms: number;
  ids: Int32Array;
  weights: Float32Array;
}

/** One BPR batch: user `u[k]` prefers item `i[k]` to `j[k]`; keep* multiply each item's own embedding (0 or 1). */
export interface HybridBatch {
  size: number;
  u: Int32Array;
  i: Int32Array;
  j: Int32Array;
  keepI: Float32Array;
  keepJ: Float32Array;
}

/** The rows (in the table's numbering) a batch's gradient touches, one per occurrence, and their gradients. */
export interface RowGradients {
  count: number;
  rows: Int32Array;
  grads: Float32Array;
}

/**
 * Loss and gradient of one batch, by hand (the model is sums and dot products, so reverse mode is a few
 * loops): v_i = hasCf_i · keep · e_i + Σ_t x_it W_t, x = p_u · (v_i − v_j), loss = mean(softplus(−x)) +
 * l2 · (‖p_u‖² + ‖v_i‖² + ‖v_j‖²) summed over the batch / size — the loss the TF.js autodiff version
 * minimised (hybrid.gradients.spec.ts checks the two agree). Writes one gradient row per occurrence of a user,
 * item or term into `out` (grown when needed) and returns the mean loss.
 */
export function hybridGradients(
  table: HybridTable,
  terms: PaddedTerms,
  hasCf: Float32Array,
  batch: HybridBatch,
  l2: number,
  out: RowGradients,
): number {
  const { dim: d, numUsers, numItems, values: w } = table;
  const T = terms.maxTerms;
  const B = batch.size;
  const itemBase = numUsers;
  const termBase = numUsers + numItems;
  const most = B * (3 + 2 * T);
  if (out.rows.length < most) {
    out.rows = new Int32Array(most);
    out.grads = new Float32Array(most * d);
  }
  const { rows, grads } = out;
  const vi = new Float32Array(d);
  const vj = new Float32Array(d);
  const r = (2 * l2) / B;
  let loss = 0;
  let n = 0;
  // v = c · e_item + Σ_t x_t W_t into `v`.
  const itemVector = (item: number, c: number, v: Float32Array) => {
    const e = (itemBase + item) * d;
    for (let f = 0; f < d; f++) v[f] = c * w[e + f];
    for (let s = item * T; s < (item + 1) * T; s++) {
      const x = terms.weights[s];
      if (x === 0) continue;
      const o = (termBase + terms.ids[s]) * d;
      for (let f = 0; f < d; f++) v[f] += x * w[o + f];
    }
  };
  // The gradient dv of an item vector, spread to the item's own row (when c > 0) and its terms' rows.
  const spread = (item: number, c: number, dv: Float32Array) => {
    if (c !== 0) {
      rows[n] = itemBase + item;
      const o = n++ * d;
      for (let f = 0; f < d; f++) grads[o + f] = c * dv[f];
    }
    for (let s = item * T; s < (item + 1) * T; s++) {
      const x = terms.weights[s];
      if (x === 0) continue;
      rows[n] = termBase + terms.ids[s];
      const o = n++ * d;
      for (let f = 0; f < d; f++) grads[o + f] = x * dv[f];
    }
  };
  const dvi = new Float32Array(d);
  const dvj = new Float32Array(d);
  for (let k = 0; k < B; k++) {
    const u = batch.u[k];
    const ci = hasCf[batch.i[k]] * batch.keepI[k];
    const cj = hasCf[batch.j[k]] * batch.keepJ[k];
    itemVector(batch.i[k], ci, vi);
    itemVector(batch.j[k], cj, vj);
    const p = u * d;
    let x = 0;
    let reg = 0;
    for (let f = 0; f < d; f++) {
      const pu = w[p + f];
      x += pu * (vi[f] - vj[f]);
      reg += pu * pu + vi[f] * vi[f] + vj[f] * vj[f];
    }
    // softplus(−x), stable for large |x|; its derivative in x is −σ(−x).
    loss += (x > 0 ? Math.log1p(Math.exp(-x)) : -x + Math.log1p(Math.exp(x))) + l2 * reg;
    const g = -1 / (1 + Math.exp(x)) / B;
    rows[n] = u;
    const o = n++ * d;
    for (let f = 0; f < d; f++) {
      const pu = w[p + f];
      grads[o + f] = g * (vi[f] - vj[f]) + r * pu;
      dvi[f] = g * pu + r * vi[f];
      dvj[f] = -g * pu + r * vj[f];
    }
    spread(batch.i[k], ci, dvi);
    spread(batch.j[k], cj, dvj);
  }
  out.count = n;
  return loss / B;
}
