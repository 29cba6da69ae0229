import type { NcfDataset } from '../data/readers';
import type { Recommender } from '../models/model';

/** Metrics of the leave-one-out protocol: the held-out item ranked among its sampled negatives. */
export interface SampledMetrics {
  users: number;
  hr: number;
  ndcg: number;
  mrr: number;
  auc: number;
  k: number;
}

/**
 * HR@K, NDCG@K, MRR and AUC of the 1 + N protocol (He et al. 2017): per user, the held-out item and its
 * sampled negatives are scored; the rank of the held-out item among them gives the metrics. Ties count
 * against the model (a constant scorer gets no credit).
 */
export function evaluateSampled(model: Pick<Recommender, 'scorePairs'>, split: NcfDataset, k = 10): SampledMetrics {
  const users: number[] = [];
  const items: number[] = [];
  const starts: number[] = [];
  split.testItem.forEach((item, u) => {
    if (item < 0) return;
    starts.push(users.length);
    users.push(u);
    items.push(item);
    for (const n of split.negatives[u]) {
      users.push(u);
      items.push(n);
    }
  });
  starts.push(users.length);
  const scores = model.scorePairs(Int32Array.from(users), Int32Array.from(items));
  let hr = 0;
  let ndcg = 0;
  let mrr = 0;
  let auc = 0;
  const n = starts.length - 1;
  if (n === 0) return { users: 0, hr: NaN, ndcg: NaN, mrr: NaN, auc: NaN, k };
  for (let s = 0; s < n; s++) {
    const from = starts[s];
    const to = starts[s + 1];
    const target = scores[from];
    let above = 0;
    for (let p = from + 1; p < to; p++) if (scores[p] >= target) above++;
    const rank = above; // 0-based
    if (rank < k) {
      hr += 1;
      ndcg += Math.log(2) / Math.log(rank + 2);
    }
    mrr += 1 / (rank + 1);
    const negatives = to - from - 1;
    auc += negatives > 0 ? (negatives - above) / negatives : 0;
  }
  return { users: n, hr: hr / n, ndcg: ndcg / n, mrr: mrr / n, auc: auc / n, k };
}

/** Full-rank metrics: every item not seen in training is a candidate; the relevant set is the user's test items. */
export interface FullRankMetrics {
  users: number;
  k: number;
  precision: number;
  recall: number;
  f1: number;
  ndcg: number;
  map: number;
  /** Share of the catalogue that appears in at least one user's top-K. */
  coverage: number;
}

export function evaluateFullRank(
  model: Pick<Recommender, 'scoreUser'>,
  test: Map<number, Set<number>>,
  seen: { offsets: Int32Array; items: Int32Array },
  numItems: number,
  k = 10,
): FullRankMetrics {
  let precision = 0;
  let recall = 0;
  let ndcg = 0;
  let map = 0;
  const recommended = new Uint8Array(numItems);
  let users = 0;
  for (const [u, relevant] of test) {
    if (relevant.size === 0) continue;
    const scores = Float32Array.from(model.scoreUser(u));
    if (u + 1 < seen.offsets.length) for (let p = seen.offsets[u]; p < seen.offsets[u + 1]; p++) scores[seen.items[p]] = -Infinity;
    const top = topK(scores, k);
    for (const item of top) recommended[item] = 1;
    const m = listMetrics(top, relevant, k);
    precision += m.precision;
    recall += m.recall;
    ndcg += m.ndcg;
    map += m.ap;
    users++;
  }
  const p = precision / Math.max(users, 1);
  const r = recall / Math.max(users, 1);
  return {
    users,
    k,
    precision: p,
    recall: r,
    f1: p + r > 0 ? (2 * p * r) / (p + r) : 0,
    ndcg: ndcg / Math.max(users, 1),
    map: map / Math.max(users, 1),
    coverage: recommended.reduce((a, b) => a + b, 0) / Math.max(numItems, 1),
  };
}

/**
 * Precision, recall, NDCG and average precision at k of one ranked list (best first, at most k long) against
 * the user's relevant items; with one relevant item, recall is the hit (HR@k). Items are indices or ids.
 */
export function listMetrics<T>(
  top: readonly T[],
  relevant: ReadonlySet<T>,
  k: number,
): { precision: number; recall: number; ndcg: number; ap: number } {
  let hits = 0;
  let dcg = 0;
  let ap = 0;
  top.slice(0, k).forEach((item, r) => {
    if (relevant.has(item)) {
      hits++;
      dcg += Math.log(2) / Math.log(r + 2);
      ap += hits / (r + 1);
    }
  });
  let idcg = 0;
  for (let r = 0; r < Math.min(k, relevant.size); r++) idcg += Math.log(2) / Math.log(r + 2);
  return { precision: hits / k, recall: hits / relevant.size, ndcg: dcg / idcg, ap: ap / Math.min(k, relevant.size) };
}

/**
 * Indices of the k largest scores, best first (ties: lower index first), skipping -Infinity entries and
 * the indices `skip` rejects. One pass with a binary heap of the best k so far (its root the worst of them), so
 * O(n log k) for any k — the scoring threads ask for thousands when filters drop many; `skip` is asked only about
 * items good enough to enter the top k.
 */
export function topK(scores: ArrayLike<number>, k: number, skip?: (index: number) => boolean): number[] {
  if (k <= 0) return [];
  const index = new Int32Array(k);
  const value = new Float64Array(k);
  // Whether heap slot a holds a worse item than slot b: a lower score, or the same score at a higher index.
  const worse = (a: number, b: number) => value[a] < value[b] || (value[a] === value[b] && index[a] > index[b]);
  const swap = (a: number, b: number) => {
    const v = value[a];
    value[a] = value[b];
    value[b] = v;
    const i = index[a];
    index[a] = index[b];
    index[b] = i;
  };
  const down = (from: number, size: number) => {
    for (let p = from; ;) {
      const l = 2 * p + 1;
      if (l >= size) return;
      const c = l + 1 < size && worse(l + 1, l) ? l + 1 : l;
      if (!worse(c, p)) return;
      swap(c, p);
      p = c;
    }
  };
  let n = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (s === -Infinity || Number.isNaN(s)) continue;
    // Indices come in increasing order: an equal score loses to the one already kept.
    if (n === k && s <= value[0]) continue;
    if (skip?.(i)) continue;
    if (n < k) {
      value[n] = s;
      index[n] = i;
      for (let p = n++; p > 0 && worse(p, (p - 1) >> 1); p = (p - 1) >> 1) swap(p, (p - 1) >> 1);
    } else {
      value[0] = s;
      index[0] = i;
      down(0, k);
    }
  }
  // Heap sort: the worst goes last.
  for (let size = n - 1; size > 0; size--) {
    swap(0, size);
    down(0, size);
  }
  return Array.from(index.subarray(0, n));
}
