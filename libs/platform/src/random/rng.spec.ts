import { Rng } from './rng';

const draws = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.next());

describe('Rng', () => {
  it('gives the same sequence for the same seed and another one for another seed', () => {
    expect(draws(new Rng(7), 20)).toEqual(draws(new Rng(7), 20));
    expect(draws(new Rng(7), 20)).not.toEqual(draws(new Rng(8), 20));
  });

  it('draws uniformly in [0, 1) and integers in [0, n)', () => {
    const rng = new Rng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) {
      const x = rng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      counts[rng.int(4)]++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(9_500);
  });

  it('forks a sub-stream that is itself reproducible and leaves the parent one draw further', () => {
    const a = new Rng(3);
    const b = new Rng(3);
    expect(draws(a.fork(), 5)).toEqual(draws(b.fork(), 5));
    expect(a.next()).toBe(b.next());
  });
});
