import { deleteRedisKeys } from '@pulse/platform/testing';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { PostCatalogRepository } from '../src/catalog/post-catalog.redis.repository';
import type { RecommenderConfig } from '../src/config/recommender.config';

const prefix = `catalog:t:${randomUUID().slice(0, 8)}:`;
const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:26379');
const catalog = new PostCatalogRepository(redis, { RECS_REDIS_PREFIX: prefix } as RecommenderConfig);

afterAll(async () => {
  await deleteRedisKeys(redis, prefix);
  await redis.quit();
});

describe('the post catalogue in Redis', () => {
  it('reads back what was written, keeps what a deleted post was, and does not know a post seen only deleted', async () => {
    await catalog.apply([
      { kind: 'upsert', post: { id: '1', authorId: 'ada', tags: ['sport', 'cycling'], createdAtMs: 1_000 } },
      { kind: 'upsert', post: { id: '2', authorId: 'bob', tags: [], createdAtMs: 2_000 } },
      { kind: 'upsert', post: { id: '3', authorId: 'cy', tags: ['news'], createdAtMs: 3_000 } },
      { kind: 'delete', id: '3' },
      { kind: 'delete', id: '4' },
    ]);
    const found = await catalog.get(['1', '2', '3', '4', '5']);
    expect([...found.values()]).toEqual([
      { id: '1', authorId: 'ada', tags: ['sport', 'cycling'], createdAtMs: 1_000, deleted: false },
      { id: '2', authorId: 'bob', tags: [], createdAtMs: 2_000, deleted: false },
      { id: '3', authorId: 'cy', tags: ['news'], createdAtMs: 3_000, deleted: true },
    ]);
    expect(await catalog.deletedAmong(['1', '3', '4'])).toEqual(new Set(['3']));
    // The indexes: a deleted post leaves the recent list, and the author and tag indexes find the others.
    expect(await catalog.recent(0, 10)).toEqual([
      { id: '2', createdAtMs: 2_000, index: 0 },
      { id: '1', createdAtMs: 1_000, index: 0 },
    ]);
    expect(await catalog.recentByTags(['cycling'], 0, 5)).toEqual([{ id: '1', createdAtMs: 1_000, index: 0, tag: 'cycling' }]);
  });

  it('leaves the former layout (a hash per post under p:, the unversioned mark) to replicas still running it', async () => {
    await redis.hset(`${prefix}p:9`, { a: 'ada', g: 'sport', c: '5', d: '0' });
    await redis.set(`${prefix}catalog:built`, '1');
    // A catalogue of its own: not built yet (so it fills from the topic), and not reading the former posts.
    expect(await catalog.builtAt()).toBeUndefined();
    expect(await catalog.get(['9'])).toEqual(new Map());
    await catalog.apply([
      { kind: 'upsert', post: { id: '9', authorId: 'ada', tags: ['sport'], createdAtMs: 5 } },
      { kind: 'delete', id: '9' },
    ]);
    expect((await catalog.get(['9'])).get('9')).toEqual({ id: '9', authorId: 'ada', tags: ['sport'], createdAtMs: 5, deleted: true });
    // A replica of the former version reads and writes its hash as before, during a rolling upgrade.
    expect(await redis.hgetall(`${prefix}p:9`)).toEqual({ a: 'ada', g: 'sport', c: '5', d: '0' });
  });
});
