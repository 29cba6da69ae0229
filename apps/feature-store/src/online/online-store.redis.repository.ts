import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT } from '@pulse/platform';
import type { Result } from 'ioredis';
import type Redis from 'ioredis';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';

/**
 * Writes one view's values into an entity hash, unless the hash already holds a newer event time for
 * that view. KEYS[1] = entity hash; ARGV = view timestamp field, event time (ms), key expiry (ms since
 * the epoch, 0 = never), then field/value pairs. Returns 0 when the stored event time is newer (nothing
 * written), 1 when event time and values are already exactly these (nothing written), 2 when written.
 * The key's expiry only ever moves later (or is dropped for a view without ttl), so a write of one view
 * never shortens the life of another view's values in the same hash.
 */
const WRITE_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local ts = tonumber(ARGV[2])
if cur and tonumber(cur) > ts then return 0 end
local n = #ARGV
if cur and tonumber(cur) == ts then
  local same = true
  for i = 4, n, 2 do
    if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then same = false break end
  end
  if same then return 1 end
end
local before = redis.call('PEXPIRETIME', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], unpack(ARGV, 4, n))
local exp = tonumber(ARGV[3])
if exp == 0 then
  redis.call('PERSIST', KEYS[1])
elseif before == -2 then
  redis.call('PEXPIREAT', KEYS[1], exp)
elseif before ~= -1 and exp > before then
  redis.call('PEXPIREAT', KEYS[1], exp)
end
return 2
`;

export const enum WriteOutcome {
  /** The online store holds a newer event time for this view and entity; nothing written. */
  Stale = 0,
  /** Same event time and values already online; nothing written. */
  Unchanged = 1,
  Written = 2,
}

/** One entity's values of one view, already encoded for Redis. */
export interface OnlineWrite {
  entityKey: string;
  timestampField: string;
  eventTimeMs: number;
  /** Key expiry, ms since the epoch; 0 = never. */
  expireAtMs: number;
  /** field, value, field, value, ... */
  cells: string[];
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fsWriteView(key: string, ...args: (string | number)[]): Result<number, Context>;
  }
}

/**
 * The online store: Feast's Redis layout, a hash per entity key (`<prefix><project>:<k>=<v>|...`) and a
 * field per feature (`<view>:<feature>`), plus the event time of each view (`_ts:<view>`), so each view's
 * ttl is judged on its own at read time.
 */
@Injectable()
export class OnlineStoreRepository {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(FEATURE_STORE_CONFIG) config: FeatureStoreConfig,
  ) {
    this.prefix = `${config.FEATURE_STORE_REDIS_PREFIX}${config.FEATURE_STORE_PROJECT}:`;
    if (!(this.redis as unknown as { fsWriteView?: unknown }).fsWriteView) {
      this.redis.defineCommand('fsWriteView', { numberOfKeys: 1, lua: WRITE_SCRIPT });
    }
  }

  /** The Redis key of an entity key string (see entityKeyString). */
  key(entityKey: string): string {
    return this.prefix + entityKey;
  }

  /** One pipelined round trip: `HMGET key field...` per read; each result in request order. */
  async readMany(reads: readonly { entityKey: string; fields: readonly string[] }[]): Promise<(string | null)[][]> {
    if (reads.length === 1) {
      return [await this.redis.hmget(this.key(reads[0].entityKey), ...reads[0].fields)];
    }
    const pipeline = this.redis.pipeline();
    for (const r of reads) pipeline.hmget(this.key(r.entityKey), ...r.fields);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, value]) => {
      if (error) throw error;
      return value as (string | null)[];
    });
  }

  /**
   * Deletes the entity hashes of these entity keys and of the keys matching these glob patterns (entity key
   * strings with `*` for another entity's value); returns how many existed.
   */
  async deleteEntities(entityKeys: readonly string[], patterns: readonly string[]): Promise<number> {
    const keys = new Set(entityKeys.map((k) => this.key(k)));
    for (const pattern of patterns) {
      let cursor = '0';
      do {
        const [next, found] = await this.redis.scan(cursor, 'MATCH', this.prefix + pattern, 'COUNT', 1000);
        found.forEach((k) => keys.add(k));
        cursor = next;
      } while (cursor !== '0');
    }
    return keys.size === 0 ? 0 : this.redis.unlink(...keys);
  }

  /** Writes many entity/view rows in one pipelined round trip; outcomes in order. */
  async writeMany(writes: readonly OnlineWrite[]): Promise<WriteOutcome[]> {
    if (writes.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const w of writes) pipeline.fsWriteView(this.key(w.entityKey), w.timestampField, w.eventTimeMs, w.expireAtMs, ...w.cells);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, value]) => {
      if (error) throw error;
      return Number(value) as WriteOutcome;
    });
  }
}
