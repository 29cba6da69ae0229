import { DedupWindow, eventFingerprint, WINDOW_SETS, windowMember } from './event-dedup.redis.repository';

const HOUR = 3_600_000;

describe('DedupWindow', () => {
  const window = new DedupWindow(24 * HOUR);
  const noon = Date.UTC(2026, 11, 6, 12, 0, 0);
  const b = window.bucket(noon);

  it('tags an id with the bucket of its time, half a TTL wide', () => {
    expect(window.widthMs).toBe(12 * HOUR);
    expect(window.bucket(noon + 12 * HOUR - 1)).toBe(b);
    expect(window.bucket(noon + 12 * HOUR)).toBe(b + 1);
  });

  it('looks an id up in every bucket that can hold it within the TTL, and in the next one near a boundary', () => {
    const at = noon + 5 * HOUR;
    expect(window.lookup(at)).toEqual([b, b - 1, b - 2]);
    // An id accepted a TTL before is in the oldest bucket read.
    expect(window.lookup(at)).toContain(window.bucket(at - 24 * HOUR));
    // Another replica's clock a little ahead has started the next bucket.
    expect(window.lookup(noon + 12 * HOUR - 30_000)).toEqual([b, b - 1, b - 2, b + 1]);
  });

  it('keeps, when it sweeps, the tags of every bucket a look-up reads until the next sweep, and no other', () => {
    const tags = window.liveTags(noon);
    expect(tags).toHaveLength(4);
    for (const at of [noon, noon + 12 * HOUR - 1]) {
      for (const bucket of window.lookup(at)) expect(tags).toContain(((bucket % 8) + 8) % 8);
    }
    // The bucket before those (ids older than the TTL) is dropped.
    expect(tags).not.toContain((((b - 3) % 8) + 8) % 8);
    // A set nobody sweeps lives until every id it holds has been known for the TTL.
    expect(window.setTtlMs).toBe(48 * HOUR);
  });

  it('works for short windows (tests, benches) too', () => {
    const short = new DedupWindow(3 * 60_000);
    expect(short.widthMs).toBe(90_000);
    const s = short.bucket(noon);
    expect(short.lookup(noon + 10_000)).toEqual([s, s - 1, s - 2]);
    expect(short.lookup(noon + 80_000)).toEqual([s, s - 1, s - 2, s + 1]);
  });
});

describe('eventFingerprint', () => {
  const ids = Array.from({ length: 200_000 }, (_, i) => `bench-00-${String(i).padStart(10, '0')}`);

  it('spreads ids evenly over the sets, with no two alike among 200,000 near-identical ids', () => {
    const perSet = new Array<number>(WINDOW_SETS).fill(0);
    const seen = new Set<string>();
    let outOfRange = 0;
    for (const id of ids) {
      const { set, digits } = eventFingerprint(id);
      // High 24 bits, then low 24 bits plus 2^24 (8 digits, from 16777216 to 33554431).
      const high = digits.length > 8 ? Number(digits.slice(0, -8)) : 0;
      const low = Number(digits.slice(-8));
      if (!(/^[1-9]\d{7,15}$/.test(digits) && high < 2 ** 24 && low >= 2 ** 24 && low < 2 ** 25)) outOfRange++;
      perSet[set]++;
      seen.add(`${set}:${digits}`);
    }
    expect(outOfRange).toBe(0);
    expect(seen.size).toBe(ids.length);
    // ~6.1 ids a set on average: a Poisson spread, not clumps.
    const mean = ids.length / WINDOW_SETS;
    const variance = perSet.reduce((a, n) => a + (n - mean) ** 2, 0) / WINDOW_SETS;
    expect(variance / mean).toBeGreaterThan(0.8);
    expect(variance / mean).toBeLessThan(1.2);
    expect(Math.max(...perSet)).toBeLessThan(25);
  });

  it('makes members Redis keeps as integers (an intset): the fingerprint digits with the bucket tag as the last digit', () => {
    const { digits } = eventFingerprint('e-1');
    const member = windowMember(digits, 2_000_123);
    expect(member).toMatch(/^[1-9]\d{8,16}$/);
    expect(member).toBe(`${digits}${2_000_123 % 8}`);
    expect(windowMember('16777216', -1)).toBe('167772167');
    // The largest member is below 2^63: an int64, which intsets hold.
    expect(BigInt(windowMember(`${2 ** 24 - 1}${2 ** 25 - 1}`, 7))).toBeLessThan(2n ** 63n);
  });
});
