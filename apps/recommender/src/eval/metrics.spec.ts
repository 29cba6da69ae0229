import type { NcfDataset } from '../data/readers';
import type { Recommender } from '../models/model';
import { evaluateSampled, topK } from './metrics';

function scorer(score: (u: number, i: number) => number): Recommender {
  return {
    name: 'itempop',
    fit: async () => ({ epochs: 0, samples: 0, seconds: 0, samplesPerSecond: 0, losses: [] }),
    scorePairs: (users, items) => Float32Array.from(users, (u, k) => score(u, items[k])),
    scoreUser: () => new Float32Array(0),
    similarItems: () => ({ items: new Int32Array(0), scores: new Float32Array(0) }),
    save: async () => undefined,
    dispose: () => undefined,
  };
}

const split = {
  train: undefined,
  testItem: Int32Array.from([5, 7]),
  negatives: [Int32Array.from([0, 1, 2]), Int32Array.from([0, 1, 2])],
} as unknown as NcfDataset;

describe('sampled metrics', () => {
  it('a scorer that ranks the held-out item first gets HR = NDCG = MRR = AUC = 1', () => {
    const m = evaluateSampled(
      scorer((_u, i) => i),
      split,
      1,
    );
    expect(m).toMatchObject({ users: 2, hr: 1, ndcg: 1, mrr: 1, auc: 1 });
  });

  it('ties count against the model: a constant scorer gets nothing at K=1', () => {
    const m = evaluateSampled(
      scorer(() => 0.5),
      split,
      1,
    );
    expect(m.hr).toBe(0);
    expect(m.auc).toBe(0);
  });

  it('NDCG discounts by log2 of the rank', () => {
    // held-out item second of four: NDCG = 1/log2(3)
    const m = evaluateSampled(
      scorer((_u, i) => (i === 2 ? 100 : i)),
      split,
      10,
    );
    expect(m.ndcg).toBeCloseTo(1 / Math.log2(3), 6);
    expect(m.mrr).toBeCloseTo(0.5, 6);
  });
});

describe('topK', () => {
  it('returns the best k, best first, skipping excluded (-Infinity) items', () => {
    expect(topK([0.1, 0.9, -Infinity, 0.5, 0.9], 3)).toEqual([1, 4, 3]);
    expect(topK([1, 2], 5)).toEqual([1, 0]);
  });
});

describe('topK with exclusions', () => {
  it('skips excluded items and keeps ties in index order', () => {
    const scores = [5, 9, 9, 1, 7, 9];
    expect(topK(scores, 3, (i) => i === 2)).toEqual([1, 5, 4]);
    expect(topK(scores, 0)).toEqual([]);
    expect(topK([NaN, 2, -Infinity], 5)).toEqual([1]);
  });

  it('agrees with sorting every index by score (ties by index) for any k, filter and ties', () => {
    let x = 3;
    const next = () => (x = (x * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 20; round++) {
      // Few distinct values: many ties.
      const scores = Float32Array.from({ length: 500 + round * 37 }, () => Math.floor(next() * (round % 2 ? 40 : 100_000)));
      const skip = round % 3 ? (i: number) => i % (round + 2) === 0 : undefined;
      const sorted = Array.from(scores.keys())
        .filter((i) => !skip?.(i))
        .sort((a, b) => scores[b] - scores[a] || a - b);
      for (const k of [1, 10, 200, scores.length, scores.length + 5]) expect(topK(scores, k, skip)).toEqual(sorted.slice(0, k));
    }
  });
});
