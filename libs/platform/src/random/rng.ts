/**
 * A small seeded PRNG (mulberry32): anything that must be reproducible from a seed (data splits, negative
 * sampling, shuffles, a simulated world) draws from one of these, never from Math.random.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A new generator seeded from this one: a sub-stream whose draws do not shift this one's later draws. */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }

  shuffle(...arrays: { length: number; [i: number]: number }[]): void {
    const n = arrays[0].length;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      for (const a of arrays) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
      }
    }
  }
}
