import { createHash } from 'node:crypto';
import { IdMap } from './id-map';

/**
 * User–item interactions with dense indices. Ratings are kept when the source has them (MAE/RMSE);
 * training treats every interaction as implicit feedback (= 1).
 */
export interface Interactions {
  users: Int32Array;
  items: Int32Array;
  ratings: Float32Array;
  /** Seconds since the epoch; 0 when the source has none. */
  timestamps: Float64Array;
  userIds: IdMap;
  itemIds: IdMap;
}

/** Accumulates rows while reading a file. */
export class InteractionsBuilder {
  private users: number[] = [];
  private items: number[] = [];
  private ratings: number[] = [];
  private timestamps: number[] = [];

  constructor(
    readonly userIds = new IdMap(),
    readonly itemIds = new IdMap(),
  ) {}

  add(user: string, item: string, rating: number, timestamp: number): void {
    this.users.push(this.userIds.add(user));
    this.items.push(this.itemIds.add(item));
    this.ratings.push(rating);
    this.timestamps.push(timestamp);
  }

  get length(): number {
    return this.users.length;
  }

  build(): Interactions {
    return {
      users: Int32Array.from(this.users),
      items: Int32Array.from(this.items),
      ratings: Float32Array.from(this.ratings),
      timestamps: Float64Array.from(this.timestamps),
      userIds: this.userIds,
      itemIds: this.itemIds,
    };
  }
}

/** Rows `keep` of `data`, sharing its id maps. */
export function subset(data: Interactions, keep: ArrayLike<number>): Interactions {
  const n = keep.length;
  const out: Interactions = {
    users: new Int32Array(n),
    items: new Int32Array(n),
    ratings: new Float32Array(n),
    timestamps: new Float64Array(n),
    userIds: data.userIds,
    itemIds: data.itemIds,
  };
  for (let k = 0; k < n; k++) {
    const r = keep[k];
    out.users[k] = data.users[r];
    out.items[k] = data.items[r];
    out.ratings[k] = data.ratings[r];
    out.timestamps[k] = data.timestamps[r];
  }
  return out;
}

/** Per-user sorted item lists (CSR): `items.subarray(offsets[u], offsets[u + 1])`. */
export interface UserItems {
  offsets: Int32Array;
  items: Int32Array;
}

/** Distinct items per user, sorted (implicit feedback: repeated interactions count once). */
export function userItems(data: Interactions, numUsers = data.userIds.size): UserItems {
  const buckets: number[][] = Array.from({ length: numUsers }, () => []);
  for (let k = 0; k < data.users.length; k++) buckets[data.users[k]].push(data.items[k]);
  const offsets = new Int32Array(numUsers + 1);
  let total = 0;
  for (let u = 0; u < numUsers; u++) {
    const sorted = Array.from(new Set(buckets[u])).sort((a, b) => a - b);
    buckets[u] = sorted;
    total += sorted.length;
    offsets[u + 1] = total;
  }
  const items = new Int32Array(total);
  for (let u = 0; u < numUsers; u++) items.set(buckets[u], offsets[u]);
  return { offsets, items };
}

/** Whether sorted `list` contains `x` (binary search). */
export function sortedHas(list: Int32Array, x: number): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = list[mid];
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Interactions per item (popularity). */
export function itemCounts(data: Interactions, numItems = data.itemIds.size): Float32Array {
  const counts = new Float32Array(numItems);
  for (let k = 0; k < data.items.length; k++) counts[data.items[k]] += 1;
  return counts;
}

/** Lowercase hex SHA-256 of the (user id, item id, timestamp) rows in their order: identifies a training snapshot. */
export function fingerprint(data: Interactions): string {
  const hash = createHash('sha256');
  const chunk: string[] = [];
  for (let k = 0; k < data.users.length; k++) {
    chunk.push(`${data.userIds.id(data.users[k])}\t${data.itemIds.id(data.items[k])}\t${data.timestamps[k]}\n`);
    if (chunk.length === 4096) {
      hash.update(chunk.join(''));
      chunk.length = 0;
    }
  }
  hash.update(chunk.join(''));
  return hash.digest('hex');
}
