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
 * A post is one string, `<deleted 0|1>\t<created ms>\t<author>\t<tag>\t<tag>...` (ids and tags hold no tab),
 * so a Recommend call reads its few hundred candidates with one MGET, far cheaper for Redis and the service than a
 * hash per post read by a script of HMGETs (decision 0030). The author is its third part: the privacy service's
 * erasure names it so (`post:*=part:2`) and removes the key.
 */
const DELETED = 0;
const CREATED = 1;
const AUTHOR = 2;
const TAGS = 3;

/** Marks a post deleted, keeping what it was (a post never seen is recorded deleted with nothing else). */
const DELETE_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if v then redis.call('SET', KEYS[1], '1' .. string.sub(v, 2)) else redis.call('SET', KEYS[1], '1') end
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    recsCatalogDelete(key: string): Result<number, Context>;
  }
}

/** How many recent posts each index keeps. */
const PER_AUTHOR = 50;
const PER_TAG = 500;
const RECENT = 100_000;

/**
 * The catalogue of posts in Redis, shared by every replica: a string per post (author, tags, creation time,
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
    if (!(this.redis as unknown as { recsCatalogDelete?: unknown }).recsCatalogDelete)
      this.redis.defineCommand('recsCatalogDelete', { lua: DELETE_SCRIPT, numberOfKeys: 1 });
  }

  private post(id: string): string {
    return `${this.prefix}post:${id}`;
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
  /** Versioned with the posts' layout: a catalogue written in an older one is filled again from the topic. */
  private get builtKey(): string {
    return `${this.prefix}catalog:built:v2`;
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
        multi.set(this.post(p.id), ['0', String(p.createdAtMs), p.authorId, ...p.tags].join('\t'));
        multi.zadd(this.recentKey, p.createdAtMs, p.id);
        multi.zadd(this.byAuthor(p.authorId), p.createdAtMs, p.id);
        multi.zremrangebyrank(this.byAuthor(p.authorId), 0, -PER_AUTHOR - 1);
        for (const tag of p.tags) {
          multi.zadd(this.byTag(tag), p.createdAtMs, p.id);
          multi.zremrangebyrank(this.byTag(tag), 0, -PER_TAG - 1);
        }
      } else {
        multi.recsCatalogDelete(this.post(change.id));
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
    const values = await this.redis.mget(ids.map((id) => this.post(id)));
    values.forEach((value, n) => {
      if (value === null) return;
      const parts = value.split('\t');
      // A post known only by its deletion (it was never upserted) is not known.
      if (parts.length <= AUTHOR) return;
      out.set(ids[n], {
        id: ids[n],
        authorId: parts[AUTHOR],
        tags: parts.slice(TAGS),
        createdAtMs: Number(parts[CREATED]),
        deleted: parts[DELETED] === '1',
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
