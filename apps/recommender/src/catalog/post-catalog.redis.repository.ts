import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT } from '@pulse/platform';
import type { Result } from 'ioredis';
import type Redis from 'ioredis';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';

/** A post as the recommender knows it: from the app database's CDC topic. */
export interface CatalogPost {
  id: string;
  authorId: string;
  tags: string[];
  createdAtMs: number;
  deleted: boolean;
}

/**
 * The author, tags, creation time and deleted mark of each post hash in KEYS, in one command: a Recommend call
 * looks up a few hundred candidates, and one command per post cost more than the lookups themselves.
 */
const GET_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HMGET', key, 'a', 'g', 'c', 'd') end
return out
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    recsCatalogGet(numKeys: number, ...keys: string[]): Result<(string | null)[][], Context>;
  }
}

/** How many recent posts each index keeps. */
const PER_AUTHOR = 50;
const PER_TAG = 500;
const RECENT = 100_000;

/**
 * The catalogue of posts in Redis, shared by every replica: a hash per post (author, tags, creation time,
 * deleted) and recent-post indexes by author, by tag and overall (sorted sets scored by creation time). Kept
 * by PostsKafkaConsumer from pulse.cdc.posts.v1, so a post is a candidate seconds after the app wrote it,
 * long before any model was trained on it.
 */
@Injectable()
export class PostCatalogRepository {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(RECOMMENDER_CONFIG) config: RecommenderConfig,
  ) {
    this.prefix = config.RECS_REDIS_PREFIX;
    if (!(this.redis as unknown as { recsCatalogGet?: unknown }).recsCatalogGet)
      this.redis.defineCommand('recsCatalogGet', { lua: GET_SCRIPT });
  }

  private post(id: string): string {
    return `${this.prefix}p:${id}`;
  }
  private byAuthor(id: string): string {
    return `${this.prefix}a:${id}`;
  }
  private byTag(tag: string): string {
    return `${this.prefix}t:${tag}`;
  }
  private get recentKey(): string {
    return `${this.prefix}posts`;
  }
  private get builtKey(): string {
    return `${this.prefix}catalog:built`;
  }

  /**
   * When the catalogue was first filled from the start of pulse.cdc.posts.v1 (ms), or undefined: a new
   * catalogue, or one Redis lost (a restart without persistence, a failover to an empty replica, a flush).
   */
  async builtAt(): Promise<number | undefined> {
    const v = await this.redis.get(this.builtKey);
    return v === null ? undefined : Number(v);
  }

  /** Records that the catalogue is being filled from the start of the topic. */
  async markBuilt(atMs: number): Promise<void> {
    await this.redis.set(this.builtKey, String(atMs));
  }

  /** Applies changes in order: an upsert writes the post and its indexes, a delete marks it deleted and unindexes it. */
  async apply(
    changes: readonly ({ kind: 'upsert'; post: Omit<CatalogPost, 'deleted'> } | { kind: 'delete'; id: string })[],
  ): Promise<void> {
    if (changes.length === 0) return;
    const multi = this.redis.multi();
    for (const change of changes) {
      if (change.kind === 'upsert') {
        const p = change.post;
        multi.hset(this.post(p.id), { a: p.authorId, g: p.tags.join('\t'), c: String(p.createdAtMs), d: '0' });
        multi.zadd(this.recentKey, p.createdAtMs, p.id);
        multi.zadd(this.byAuthor(p.authorId), p.createdAtMs, p.id);
        multi.zremrangebyrank(this.byAuthor(p.authorId), 0, -PER_AUTHOR - 1);
        for (const tag of p.tags) {
          multi.zadd(this.byTag(tag), p.createdAtMs, p.id);
          multi.zremrangebyrank(this.byTag(tag), 0, -PER_TAG - 1);
        }
      } else {
        multi.hset(this.post(change.id), { d: '1' });
        multi.zrem(this.recentKey, change.id);
      }
    }
    multi.zremrangebyrank(this.recentKey, 0, -RECENT - 1);
    await multi.exec();
  }

  /** The posts of these ids that the catalogue knows (deleted ones included, marked). */
  async get(ids: readonly string[]): Promise<Map<string, CatalogPost>> {
    const out = new Map<string, CatalogPost>();
    if (ids.length === 0) return out;
    const rows = await this.redis.recsCatalogGet(ids.length, ...ids.map((id) => this.post(id)));
    rows.forEach(([author, tags, created, deleted], n) => {
      if (author === null) return;
      out.set(ids[n], {
        id: ids[n],
        authorId: author,
        tags: tags ? tags.split('\t') : [],
        createdAtMs: Number(created),
        deleted: deleted === '1',
      });
    });
    return out;
  }

  /** Deleted posts among the ids (a delete may remove a post from the indexes after a list was read). */
  async deletedAmong(ids: readonly string[]): Promise<Set<string>> {
    const known = await this.get(ids);
    return new Set([...known.values()].filter((p) => p.deleted).map((p) => p.id));
  }

  /** Recent posts of each author since `sinceMs`, newest first, at most `perAuthor` each. */
  async recentByAuthors(authorIds: readonly string[], sinceMs: number, perAuthor: number): Promise<{ id: string; createdAtMs: number }[]> {
    return this.recentIn(
      authorIds.map((a) => this.byAuthor(a)),
      sinceMs,
      perAuthor,
    );
  }

  /** Recent posts carrying each tag since `sinceMs`, newest first, at most `perTag` each. */
  async recentByTags(
    tags: readonly string[],
    sinceMs: number,
    perTag: number,
  ): Promise<{ id: string; createdAtMs: number; tag: string }[]> {
    const found = await this.recentIn(
      tags.map((t) => this.byTag(t)),
      sinceMs,
      perTag,
    );
    return found.map((f) => ({ ...f, tag: tags[f.index] }));
  }

  /** The newest posts since `sinceMs`, at most `limit`. */
  async recent(sinceMs: number, limit: number): Promise<{ id: string; createdAtMs: number }[]> {
    return this.recentIn([this.recentKey], sinceMs, limit);
  }

  private async recentIn(
    keys: readonly string[],
    sinceMs: number,
    limit: number,
  ): Promise<{ id: string; createdAtMs: number; index: number }[]> {
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.zrevrangebyscore(key, '+inf', sinceMs, 'WITHSCORES', 'LIMIT', 0, limit);
    const results = (await pipeline.exec()) ?? [];
    const out: { id: string; createdAtMs: number; index: number }[] = [];
    results.forEach(([error, value], index) => {
      if (error) throw error;
      const flat = value as string[];
      for (let k = 0; k + 1 < flat.length; k += 2) out.push({ id: flat[k], createdAtMs: Number(flat[k + 1]), index });
    });
    return out;
  }
}
