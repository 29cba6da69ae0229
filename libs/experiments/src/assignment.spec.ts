import {
  type AssignableExperiment,
  assignInExperiment,
  assignUser,
  chooseVariant,
  layerBucket,
  rangesOverlap,
  variantBounds,
} from './assignment';

/** Upper 0.001 quantiles of the chi-square distribution by degrees of freedom (standard tables). */
const CHI_SQUARE_CRITICAL_0_001: Record<number, number> = { 1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467 };

function chiSquare(observed: readonly number[], expectedShares: readonly number[]): number {
  const total = observed.reduce((s, o) => s + o, 0);
  return observed.reduce((x, o, i) => {
    const e = expectedShares[i] * total;
    return x + (o - e) ** 2 / e;
  }, 0);
}

function experiment(overrides: Partial<AssignableExperiment> = {}): AssignableExperiment {
  return {
    id: 'exp-1',
    layer: 'recs',
    salt: 'exp-1',
    buckets: { start: 0, end: 10_000 },
    variants: [
      { name: 'control', weight: 50 },
      { name: 'treatment', weight: 50 },
    ],
    ...overrides,
  };
}

const USERS = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);

function counts(e: AssignableExperiment): number[] {
  const out = e.variants.map(() => 0);
  let outside = 0;
  for (const u of USERS) {
    const a = assignInExperiment(e, u);
    if (a) out[e.variants.indexOf(a.variant)]++;
    else outside++;
  }
  return [...out, outside];
}

describe('variant bounds', () => {
  it('cuts the 10,000 buckets at the cumulative weights', () => {
    expect(variantBounds([50, 50])).toEqual([5000, 10_000]);
    expect(variantBounds([33.33, 33.33, 33.34])).toEqual([3333, 6666, 10_000]);
    expect(chooseVariant([20, 30, 50], 0)).toBe(0);
    expect(chooseVariant([20, 30, 50], 1999)).toBe(0);
    expect(chooseVariant([20, 30, 50], 2000)).toBe(1);
    expect(chooseVariant([20, 30, 50], 9999)).toBe(2);
    expect(chooseVariant([20, 30], 5000)).toBe(-1);
  });

  it('finds overlapping bucket ranges, and none between adjacent ones', () => {
    expect(rangesOverlap({ start: 0, end: 3000 }, { start: 2999, end: 5000 })).toBe(true);
    expect(rangesOverlap({ start: 0, end: 3000 }, { start: 3000, end: 5000 })).toBe(false);
    expect(rangesOverlap({ start: 0, end: 0 }, { start: 0, end: 5000 })).toBe(false);
  });
});

describe('assignment', () => {
  it('gives a user the same variant every time, on any replica (a pure function of the experiment and the user)', () => {
    const e = experiment();
    const first = USERS.slice(0, 1000).map((u) => assignInExperiment(e, u)?.variant.name);
    const again = USERS.slice(0, 1000).map((u) => assignInExperiment({ ...experiment(), variants: [...e.variants] }, u)?.variant.name);
    expect(again).toEqual(first);
    // Pinned: a change of the hash or of the bucket layout would move users between variants of running experiments.
    expect(USERS.slice(0, 8).map((u) => assignInExperiment(e, u)?.variant.name)).toEqual([
      'treatment',
      'treatment',
      'control',
      'control',
      'treatment',
      'control',
      'control',
      'treatment',
    ]);
  });

  it('balances 100,000 users between 50/50 variants within a chi-square test at 0.001, the same counts on every run', () => {
    const [control, treatment, outside] = counts(experiment());
    expect(outside).toBe(0);
    expect(chiSquare([control, treatment], [0.5, 0.5])).toBeLessThan(CHI_SQUARE_CRITICAL_0_001[1]);
    expect(counts(experiment())).toEqual([control, treatment, 0]);
    expect([control, treatment]).toEqual([49_880, 50_120]);
  });

  it('balances uneven weights and a partial allocation of the layer', () => {
    const e = experiment({
      buckets: { start: 2000, end: 5000 },
      variants: [
        { name: 'control', weight: 50 },
        { name: 'mf', weight: 25 },
        { name: 'popular', weight: 25 },
      ],
    });
    const [control, mf, popular, outside] = counts(e);
    // 30 % of the layer is in the experiment.
    expect(chiSquare([control + mf + popular, outside], [0.3, 0.7])).toBeLessThan(CHI_SQUARE_CRITICAL_0_001[1]);
    expect(chiSquare([control, mf, popular], [0.5, 0.25, 0.25])).toBeLessThan(CHI_SQUARE_CRITICAL_0_001[2]);
  });

  it('keeps experiments of one layer mutually exclusive, and splits each independently of the layer', () => {
    const a = experiment({ id: 'a', salt: 'a', buckets: { start: 0, end: 5000 } });
    const b = experiment({ id: 'b', salt: 'b', buckets: { start: 5000, end: 10_000 } });
    const other = experiment({ id: 'c', salt: 'c', layer: 'ranking', buckets: { start: 0, end: 5000 } });
    let both = 0;
    const inA = [0, 0];
    for (const u of USERS.slice(0, 20_000)) {
      const x = assignInExperiment(a, u);
      const y = assignInExperiment(b, u);
      if (x && y) both++;
      if (x) inA[a.variants.indexOf(x.variant)]++;
    }
    expect(both).toBe(0);
    expect(chiSquare(inA, [0.5, 0.5])).toBeLessThan(CHI_SQUARE_CRITICAL_0_001[1]);
    // Another layer's buckets are independent of this one's.
    const cross = [0, 0, 0, 0];
    for (const u of USERS.slice(0, 20_000)) cross[(layerBucket('recs', u) < 5000 ? 0 : 2) + (layerBucket('ranking', u) < 5000 ? 0 : 1)]++;
    expect(chiSquare(cross, [0.25, 0.25, 0.25, 0.25])).toBeLessThan(CHI_SQUARE_CRITICAL_0_001[3]);
    // The first layer by name that claims the user decides which experiment the list belongs to.
    const claimed = USERS.slice(0, 2000).map((u) => assignUser([other, b, a], u)?.experiment.id ?? null);
    for (const [i, id] of claimed.entries()) {
      const u = USERS[i];
      const inRanking = assignInExperiment(other, u) !== null;
      expect(id).toBe(inRanking ? 'c' : ((assignInExperiment(a, u) ?? assignInExperiment(b, u))?.experiment.id ?? null));
    }
  });

  it('leaves everybody out of an experiment without buckets', () => {
    expect(assignInExperiment(experiment({ buckets: undefined }), 'u1')).toBeNull();
    expect(assignInExperiment(experiment({ buckets: { start: 0, end: 0 } }), 'u1')).toBeNull();
    expect(assignUser([], 'u1')).toBeNull();
  });
});
