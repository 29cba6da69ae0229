import { BUCKETS, bucketOf, fnv1a32 } from './hash';

describe('hashing', () => {
  it('computes FNV-1a 32 as published (offset basis for the empty string, the reference vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  // The hashing-version-2 cases of GrowthBook's SDK conformance suite (cases.json, `hash` with version 2):
  // [seed, value, expected hash]; the bucket is the hash times 10,000.
  const growthbookV2: [string, string, number][] = [
    ['seed', 'a', 0.0505],
    ['seed', 'b', 0.2696],
    ['foo', 'ab', 0.2575],
    ['foo', 'def', 0.2019],
    ['89123klj', '8952klfjas09ujkasdf', 0.124],
    ['90850943850283058242805', '123', 0.7516],
    ['()**(%$##$%#$#', '___)((*":&', 0.0128],
  ];
  it.each(growthbookV2)('puts (%p, %p) in the bucket GrowthBook hashing v2 gives (%p)', (seed, value, expected) => {
    expect(bucketOf(seed, value)).toBe(Math.round(expected * BUCKETS));
  });

  it('depends on the seed, so two layers or experiments split users independently', () => {
    const users = Array.from({ length: 1000 }, (_, i) => `u${i}`);
    const same = users.filter((u) => bucketOf('a', u) === bucketOf('b', u)).length;
    expect(same).toBeLessThan(5);
  });
});
