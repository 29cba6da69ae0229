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
    const p = foldInUser(f, [], 2, f.userVector(1), 50);
    expect(p[0]).toBeCloseTo(1, 5);
    expect(p[1]).toBeCloseTo(0, 5);
  });

  it("with the items' Gramian, gives what sets the liked items apart rather than what every item shares", () => {
    // 3-d: the first axis is shared by every item (popularity: the popular items lie far along it), the other
    // two are taste clusters. A new user likes two items of the small cluster z.
    const rows = [
      [3, 1, 0], // 0: popular, cluster y
      [2.8, 0.9, 0], // 1: popular, cluster y
      [2.9, 1.1, 0.1], // 2: popular, cluster y
      [1, 0, 1], // 3: cluster z (liked)
      [1, 0.1, 0.9], // 4: cluster z (liked)
      [0.9, 0, 1.1], // 5: cluster z, not seen
      [1, 0.05, 1], // 6: cluster z, not seen
    ];
    const f: LinearFactors = {
      dim: 3,
      numItems: rows.length,
      itemVectors: Float32Array.from(rows.flat()),
      bias: 0,
      userVector: () => new Float32Array(3),
    };
    const liked = [
      { item: 3, target: 4, weight: 1 },
      { item: 4, target: 4, weight: 1 },
    ];
    const topUnseen = (gramian: number) => {
      const scores = scoreAllItems(f, foldInUser(f, liked, 1, undefined, gramian));
      return [0, 1, 2, 5, 6].sort((a, b) => scores[b] - scores[a]).slice(0, 2);
    };
    expect(topUnseen(0)).toContain(0); // plain ridge: the popular direction wins
    expect(topUnseen(20).sort()).toEqual([5, 6]);
  });
});
