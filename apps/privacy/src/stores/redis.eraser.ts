import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT } from '@pulse/platform';
import type Redis from 'ioredis';
import { PRIVACY_CONFIG, type PrivacyConfig } from '../config/privacy.config';
import type { EraseOutcome, StoreEraser, Subject } from '../erasure/erasure.model';

/**
 * The user in Redis, two ways:
 * - the keys that hold a user's data by key (PRIVACY_REDIS_USER_KEYS, `{user}` standing for the id: the
 *   recommender's live state and author index), found by SCAN and removed whole;
 * - every other reference under PRIVACY_REDIS_SWEEP_PREFIXES (the recommender's keys): a hash field whose value or
 *   name is the id (the author of a post in the catalogue), a set or sorted-set member that is the id (another user's
 *   muted accounts), a list element that is the id or ends in `|<id>` (another user's recent action on the user), a
 *   key with the id as one of its `:`-separated segments. The sweep reads every key under the prefixes: its cost
 *   grows with them (an erasure is rare; see docs/privacy.md).
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
    for (const prefix of this.config.PRIVACY_REDIS_SWEEP_PREFIXES) {
      await this.scan(`${prefix}*`, async (found) => {
        references += await this.sweep(found, id);
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

  /** Removes the references to `id` in a batch of keys (pipelined: a type, a read and the removals per key). */
  private async sweep(keys: string[], id: string): Promise<number> {
    const types = await this.redis.pipeline(keys.map((k) => ['type', k])).exec();
    const reads = this.redis.pipeline();
    const kinds: string[] = [];
    keys.forEach((k, i) => {
      const type = String(types?.[i]?.[1] ?? 'none');
      kinds.push(type);
      if (type === 'hash') reads.hgetall(k);
      else if (type === 'set') reads.smembers(k);
      else if (type === 'zset') reads.zrange(k, 0, -1);
      else if (type === 'list') reads.lrange(k, 0, -1);
      else reads.exists(k);
    });
    const values = await reads.exec();
    const writes = this.redis.pipeline();
    let references = 0;
    keys.forEach((key, i) => {
      if (key.split(':').includes(id)) {
        writes.unlink(key);
        references++;
        return;
      }
      const value = values?.[i]?.[1];
      if (kinds[i] === 'hash') {
        const fields = Object.entries(value as Record<string, string>)
          .filter(([f, v]) => f === id || v === id)
          .map(([f]) => f);
        if (fields.length > 0) writes.hdel(key, ...fields);
        references += fields.length;
      } else if (kinds[i] === 'set' || kinds[i] === 'zset') {
        if ((value as string[]).includes(id)) {
          if (kinds[i] === 'set') writes.srem(key, id);
          else writes.zrem(key, id);
          references++;
        }
      } else if (kinds[i] === 'list') {
        for (const element of new Set((value as string[]).filter((e) => e === id || e.endsWith(`|${id}`)))) {
          writes.lrem(key, 0, element);
          references++;
        }
      }
    });
    if (references > 0) await writes.exec();
    return references;
  }
}
