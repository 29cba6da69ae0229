/** Buckets of a hash: a user's position in a layer, or in an experiment's variant split, is one of 10,000. */
export const BUCKETS = 10_000;

/**
 * FNV-1a, 32 bits, over the UTF-16 code units of a string (as GrowthBook's SDKs compute it: `hashFnv32a`).
 * Offset basis 2166136261, prime 16777619; the product is taken modulo 2^32.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The bucket, 0..9999, of `value` under `seed`: GrowthBook's hashing version 2,
 * `fnv1a32(String(fnv1a32(seed + value))) % 10000` (its SDKs return this divided by 10,000). Hashing the
 * decimal string of the first hash again removes the bias of the last characters that version 1 had.
 */
export function bucketOf(seed: string, value: string): number {
  return fnv1a32(String(fnv1a32(seed + value))) % BUCKETS;
}
