/**
 * A set of a model's item indices as a bitset (one bit per item: 1.2 KB for 10k items): the request's filters —
 * excluded ids, what the user rated in training, seen and hidden posts, attribute conditions — are united into
 * one before scoring, so the scoring thread skips them while it picks the top-k (exact, no deeper re-asks), and
 * a condition over an attribute costs a pass over its values' items, not a look-up per item.
 */
export class ItemSet {
  /** Bit i of word i >>> 5 is item i; bits past `size` are always 0. */
  readonly words: Uint32Array<ArrayBuffer>;

  /** How many 32-bit words hold a set of `size` items. */
  static wordsFor(size: number): number {
    return (size + 31) >>> 5;
  }

  constructor(
    readonly size: number,
    words?: Uint32Array<ArrayBuffer>,
  ) {
    const length = ItemSet.wordsFor(size);
    if (words && words.length !== length) throw new RangeError(`an item set of ${size} items has ${length} words, not ${words.length}`);
    this.words = words ?? new Uint32Array(length);
  }

  readonly has = (i: number): boolean => (this.words[i >>> 5] & (1 << (i & 31))) !== 0;

  add(i: number): this {
    if (i >= 0 && i < this.size) this.words[i >>> 5] |= 1 << (i & 31);
    return this;
  }

  addAll(items: ArrayLike<number>): this {
    for (let n = 0; n < items.length; n++) this.add(items[n]);
    return this;
  }

  /** Adds every item of `other` (a set over the same items). */
  union(other: ItemSet): this {
    this.sameItems(other);
    for (let w = 0; w < this.words.length; w++) this.words[w] |= other.words[w];
    return this;
  }

  /** Adds every item that is not in `other` (a set over the same items). */
  unionComplement(other: ItemSet): this {
    this.sameItems(other);
    for (let w = 0; w < this.words.length; w++) this.words[w] |= ~other.words[w];
    const tail = this.size & 31;
    if (tail) this.words[this.words.length - 1] &= (1 << tail) - 1;
    return this;
  }

  /** How many items the set holds. */
  count(): number {
    let total = 0;
    for (let w = 0; w < this.words.length; w++) {
      // Population count of a 32-bit word (Hacker's Delight 5-2).
      let v = this.words[w];
      v -= (v >>> 1) & 0x55555555;
      v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
      total += Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
    }
    return total;
  }

  copy(): ItemSet {
    return new ItemSet(this.size, this.words.slice());
  }

  private sameItems(other: ItemSet): void {
    if (other.size !== this.size) throw new RangeError(`item sets over ${this.size} and ${other.size} items`);
  }
}
