import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT } from '@pulse/platform';
import type Redis from 'ioredis';
import { PRIVACY_CONFIG, type PrivacyConfig } from '../config/privacy.config';
import type { EraseOutcome, StoreEraser, Subject } from '../erasure/erasure.model';

/**
 * The Redis keys that hold a user's data by key (PRIVACY_REDIS_USER_KEYS, `{user}` standing for the id): the
 * recommender's live state (recent actions, seen, hidden, muted). Found by SCAN, removed by UNLINK.
 */
@Injectable()
export class RedisEraser implements StoreEraser {
  readonly store = 'redis' as const;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(PRIVACY_CONFIG) private readonly config: PrivacyConfig,
  ) {}

  async erase(subject: Subject): Promise<EraseOutcome> {
    // User ids are [A-Za-z0-9_-] (EraseUser checks): nothing in them is special to MATCH.
    const keys = new Set<string>();
    for (const pattern of this.config.PRIVACY_REDIS_USER_KEYS) {
      const match = pattern.split('{user}').join(subject.userId);
      let cursor = '0';
      do {
        const [next, found] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        found.forEach((k) => keys.add(k));
        cursor = next;
      } while (cursor !== '0');
    }
    const deleted = keys.size === 0 ? 0 : await this.redis.unlink(...keys);
    return { counts: { keys: deleted } };
  }
}
