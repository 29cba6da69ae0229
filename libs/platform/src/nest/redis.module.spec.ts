import { type AddressInfo, createServer, type Socket } from 'node:net';
import { createRedisClient, keepConnected } from './redis.module';

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

  it('connects again when the client ended by itself, and no more once told to stop watching', async () => {
    // A server that takes connections and answers nothing: enough for the client's states.
    const sockets = new Set<Socket>();
    const server = createServer((socket) => sockets.add(socket.on('close', () => sockets.delete(socket)).resume()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const redis = createRedisClient({ url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}/0`, sentinels: [] });
    redis.on('error', () => undefined);
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const until = async (status: string) => {
      for (let i = 0; i < 100 && redis.status !== status; i++) await sleep(10);
      return redis.status;
    };
    let stop = () => undefined as void;
    try {
      redis.connect().catch(() => undefined);
      expect(await until('connect')).toBe('connect');
      redis.disconnect();
      expect(await until('end')).toBe('end');
      stop = keepConnected(redis, 10);
      expect(await until('connect')).toBe('connect');
      stop();
      redis.disconnect();
      expect(await until('end')).toBe('end');
      await sleep(100);
      expect(redis.status).toBe('end');
    } finally {
      stop();
      redis.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
