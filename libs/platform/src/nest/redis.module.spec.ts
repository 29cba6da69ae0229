import { createRedisClient } from './redis.module';

describe('the Redis client', () => {
  it('connects to the server of REDIS_URL when no sentinel is configured', () => {
    const redis = createRedisClient({ url: 'redis://127.0.0.1:1/2', sentinels: [] });
    try {
      expect(redis.options).toMatchObject({ host: '127.0.0.1', port: 1, db: 2, enableOfflineQueue: false });
      expect(redis.options.sentinels).toBeFalsy();
    } finally {
      redis.disconnect();
    }
  });

  it('asks the sentinels for the primary, with the credentials and db of the URL, and reconnects on READONLY', () => {
    const redis = createRedisClient({
      url: 'redis://app:s%40cret@ignored:6379/3',
      sentinels: ['127.0.0.1:1', 'localhost:2'],
      sentinelMaster: 'pulse-ha',
    });
    try {
      expect(redis.options).toMatchObject({
        sentinels: [
          { host: '127.0.0.1', port: 1 },
          { host: 'localhost', port: 2 },
        ],
        name: 'pulse-ha',
        username: 'app',
        password: 's@cret',
        db: 3,
        failoverDetector: true,
      });
      const reconnect = redis.options.reconnectOnError as (error: Error) => boolean;
      expect(reconnect(new Error("READONLY You can't write against a read only replica."))).toBe(true);
      expect(reconnect(new Error('WRONGTYPE'))).toBe(false);
      expect(redis.options.retryStrategy?.(100)).toBe(2_000);
    } finally {
      redis.disconnect();
    }
  });
});
