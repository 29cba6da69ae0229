import Redis from 'ioredis';

/**
 * Deletes every key under a prefix (a test's own Redis prefix): SCAN in pages, DEL each page. Given a URL it connects
 * and disconnects; a client given (a Sentinel-aware one, say) is left open.
 */
export async function deleteRedisKeys(server: string | Redis, prefix: string): Promise<void> {
  if (!prefix) throw new Error('deleteRedisKeys: a prefix is required (it would delete every key)');
  const redis = typeof server === 'string' ? new Redis(server) : server;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    if (redis !== server) redis.disconnect();
  }
}
