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
export function evaluateSampled(model: Recommender, split: NcfDataset, k = 10): SampledMetrics {
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
  model: Recommender,
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
    let hits = 0;
    let dcg = 0;
    let ap = 0;
    top.forEach((item, r) => {
      recommended[item] = 1;
      if (relevant.has(item)) {
        hits++;
        dcg += Math.log(2) / Math.log(r + 2);
        ap += hits / (r + 1);
      }
    });
    let idcg = 0;
    for (let r = 0; r < Math.min(k, relevant.size); r++) idcg += Math.log(2) / Math.log(r + 2);
    precision += hits / k;
    recall += hits / relevant.size;
    ndcg += dcg / idcg;
    map += ap / Math.min(k, relevant.size);
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

/** Indices of the k largest scores, best first (ties: lower index first); -Infinity entries are never returned. */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const heapItems: number[] = [];
  const better = (a: number, b: number) => scores[a] > scores[b] || (scores[a] === scores[b] && a < b);
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] === -Infinity) continue;
    if (heapItems.length < k) {
      heapItems.push(i);
      let c = heapItems.length - 1;
      while (c > 0) {
        const parent = (c - 1) >> 1;
        if (better(heapItems[parent], heapItems[c])) {
          [heapItems[parent], heapItems[c]] = [heapItems[c], heapItems[parent]];
          c = parent;
        } else break;
      }
    } else if (k > 0 && better(i, heapItems[0])) {
      heapItems[0] = i;
      let c = 0;
      for (;;) {
        const l = 2 * c + 1;
        const r = l + 1;
        let worst = c;
        if (l < heapItems.length && better(heapItems[worst], heapItems[l])) worst = l;
        if (r < heapItems.length && better(heapItems[worst], heapItems[r])) worst = r;
        if (worst === c) break;
        [heapItems[worst], heapItems[c]] = [heapItems[c], heapItems[worst]];
        c = worst;
      }
    }
  }
  return heapItems.sort((a, b) => (better(a, b) ? -1 : 1));
}
