import fc from 'fast-check';
import { ItemSet } from './item-set';

/** Sizes around word boundaries, and index lists within them. */
const sized = fc
  .oneof(fc.constantFrom(0, 1, 31, 32, 33, 63, 64, 65), fc.integer({ min: 0, max: 500 }))
  .chain((size) =>
    fc.tuple(
      fc.constant(size),
      fc.array(fc.nat(Math.max(0, size - 1)), { maxLength: size === 0 ? 0 : 200 }),
      fc.array(fc.nat(Math.max(0, size - 1)), { maxLength: size === 0 ? 0 : 200 }),
    ),
  );

const members = (set: ItemSet) => Array.from({ length: set.size }, (_, i) => i).filter(set.has);

describe('ItemSet', () => {
  it('holds exactly the items added, counts them, and unites with another set or its complement like Set does', () => {
    fc.assert(
      fc.property(sized, ([size, a, b]) => {
        const left = new ItemSet(size).addAll(a);
        const right = new ItemSet(size).addAll(b);
        const all = Array.from({ length: size }, (_, i) => i);
        expect(members(left)).toEqual([...new Set(a)].sort((x, y) => x - y));
        expect(left.count()).toBe(new Set(a).size);

        const union = left.copy().union(right);
        expect(members(union)).toEqual(all.filter((i) => a.includes(i) || b.includes(i)));
        expect(union.count()).toBe(new Set([...a, ...b]).size);
        // The copy is a set of its own.
        expect(members(left)).toEqual([...new Set(a)].sort((x, y) => x - y));

        const withComplement = left.copy().unionComplement(right);
        const expected = all.filter((i) => a.includes(i) || !b.includes(i));
        expect(members(withComplement)).toEqual(expected);
        // No bit past the last item: the count is of items only.
        expect(withComplement.count()).toBe(expected.length);
      }),
    );
  });

  it('ignores indices outside its items and refuses sets over other items', () => {
    const set = new ItemSet(40).add(-1).add(40).add(64).add(39);
    expect(members(set)).toEqual([39]);
    expect(set.count()).toBe(1);
    expect(() => set.union(new ItemSet(41))).toThrow('item sets over 40 and 41 items');
    expect(() => new ItemSet(40, new Uint32Array(1))).toThrow('an item set of 40 items has 2 words, not 1');
  });
});
