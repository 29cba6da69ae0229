/**
 * Consecutive groups of items whose sizes add up to at most `limit` each (an item over it alone in its group): the
 * produce requests of a send, so that no partition's batch goes over the broker's message.max.bytes.
 */
export function chunkBySize<T>(items: readonly T[], size: (item: T) => number, limit: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (current.length > 0 && bytes + n > limit) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
