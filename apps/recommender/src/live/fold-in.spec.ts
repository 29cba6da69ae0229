import { foldInUser, type LinearFactors, scoreAllItems, solve } from './fold-in';

/** Two taste clusters in 2-d: items 0–2 point along x, items 3–5 along y. */
function clusters(): LinearFactors {
  const vectors = Float32Array.from([1, 0, 0.9, 0.1, 0.95, 0, 0, 1, 0.1, 0.9, 0, 0.95]);
  return { dim: 2, numItems: 6, itemVectors: vectors, bias: 0, userVector: (u) => Float32Array.from(u === 0 ? [0, 1] : [1, 0]) };
}

describe('fold-in', () => {
  it('solves a symmetric positive definite system exactly', () => {
    const x = solve(Float64Array.from([4, 2, 2, 3]), Float64Array.from([2, 5]), 2);
    expect(x[0]).toBeCloseTo(-0.5, 10);
    expect(x[1]).toBeCloseTo(2, 10);
  });

  it('gives a new user who liked items of one cluster that cluster first', () => {
    const f = clusters();
    const p = foldInUser(
      f,
      [
        { item: 0, target: 4, weight: 3 },
        { item: 1, target: 4, weight: 3 },
      ],
      1,
    );
    const scores = scoreAllItems(f, p);
    const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]);
    expect(order.slice(0, 3).sort()).toEqual([0, 1, 2]);
  });

  it('moves a known user towards what they just did, away from their trained taste', () => {
    const f = clusters();
    const before = scoreAllItems(f, f.userVector(0)); // user 0 likes the y cluster
    expect(before[4]).toBeGreaterThan(before[2]);
    const p = foldInUser(
      f,
      [
        { item: 0, target: 4, weight: 6 },
        { item: 1, target: 4, weight: 6 },
        { item: 3, target: -4, weight: 6 },
      ],
      1,
      f.userVector(0),
    );
    const after = scoreAllItems(f, p);
    expect(after[2]).toBeGreaterThan(after[4]);
  });

  it('stays at the trained vector without observations', () => {
    const f = clusters();
    expect(Array.from(foldInUser(f, [], 2, f.userVector(1)))).toEqual([1, 0]);
  });
});
