import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT } from '@pulse/platform';
import type Redis from 'ioredis';
import { PRIVACY_CONFIG, type PrivacyConfig, type RedisReference } from '../config/privacy.config';
import type { EraseOutcome, StoreEraser, Subject } from '../erasure/erasure.model';

/**
 * The user in Redis, two ways:
 * - the keys that hold a user's data by key (PRIVACY_REDIS_USER_KEYS, `{user}` standing for the id: the
 *   recommender's live state and author index), found by SCAN and removed whole;
 * - the references to the user in other keys, as PRIVACY_REDIS_REFERENCES names them (another user's muted
 *   accounts, a post's author, another user's recent action on the user), removed one by one. Only what a rule names
 *   is touched: a user id may be any word (`u`, `posts`, `5`), and a post id or a count can equal it, so a rule
 *   matching any segment, member or value would remove other users' data. The sweep reads every key its patterns
 *   match: its cost grows with them (an erasure is rare; see docs/privacy.md).
 */
@Injectable()
export class RedisEraser implements StoreEraser {
  readonly store = 'redis' as const;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(PRIVACY_CONFIG) private readonly config: PrivacyConfig,
  ) {}

  async erase(subject: Subject): Promise<EraseOutcome> {
    const id = subject.userId;
    // User ids are [A-Za-z0-9_-] (EraseUser checks): nothing in them is special to MATCH.
    const keys = new Set<string>();
    for (const pattern of this.config.PRIVACY_REDIS_USER_KEYS) {
      await this.scan(pattern.split('{user}').join(id), async (found) => found.forEach((k) => keys.add(k)));
    }
    const deleted = keys.size === 0 ? 0 : await this.redis.unlink(...keys);
    let references = 0;
    for (const reference of this.config.PRIVACY_REDIS_REFERENCES) {
      await this.scan(reference.pattern, async (found) => {
        references += await this.sweep(found, id, reference);
      });
    }
    return { counts: { keys: deleted, references } };
  }

  private async scan(match: string, each: (keys: string[]) => Promise<void>): Promise<void> {
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      if (found.length > 0) await each(found);
      cursor = next;
    } while (cursor !== '0');
  }

  /** Removes what `reference` names of `id` in a batch of keys (pipelined: a read per key, then the removals). */
  private async sweep(keys: string[], id: string, reference: RedisReference): Promise<number> {
    const reads = this.redis.pipeline();
    for (const key of keys) {
      if (reference.kind === 'member') reads.type(key);
      else if (reference.kind === 'field') reads.hget(key, reference.field);
      else if (reference.kind === 'part') reads.get(key);
      else reads.lrange(key, 0, -1);
    }
    const values = ((await reads.exec()) ?? []).map(([error, value]) => (error ? undefined : value));
    const writes = this.redis.pipeline();
    let references = 0;
    keys.forEach((key, i) => {
      const value = values[i];
      if (reference.kind === 'member') {
        if (value === 'set') writes.srem(key, id);
        else if (value === 'zset') writes.zrem(key, id);
      } else if (reference.kind === 'field') {
        if (value === id) writes.hdel(key, reference.field);
      } else if (reference.kind === 'part') {
        if (typeof value === 'string' && value.split('\t')[reference.part] === id) writes.del(key);
      } else if (Array.isArray(value)) {
        for (const element of new Set((value as string[]).filter((e) => e.startsWith(reference.start) && e.endsWith(`|${id}`))))
          writes.lrem(key, 0, element);
      }
    });
    if (writes.length === 0) return 0;
    for (const [error, removed] of (await writes.exec()) ?? []) if (!error) references += Number(removed);
    return references;
  }
}
