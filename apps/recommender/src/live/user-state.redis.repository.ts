import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT } from '@pulse/platform';
import type Redis from 'ioredis';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';

/** One action of a user on a post or an account, as the live state keeps it. */
export interface RecentAction {
  /** The post id, or the account id for USER targets. */
  targetId: string;
  target: 'POST' | 'USER';
  /** Activity type without prefix: LIKE, VIEW, HIDE, FOLLOW, ... */
  type: string;
  atMs: number;
}

/** What serving needs to know about a user right now. */
export interface UserLiveState {
  /** Newest first, at most RECS_RECENT_ACTIONS. */
  recent: RecentAction[];
  /** Posts the user viewed, clicked, liked, commented, shared, bookmarked or hid. */
  seen: Set<string>;
  /** Posts the user hid: never recommended again. */
  hidden: Set<string>;
  /** Accounts the user hid (blocked) or unfollowed: their posts are not recommended. */
  mutedAuthors: Set<string>;
}

const SEEN_TYPES = new Set(['VIEW', 'CLICK', 'LIKE', 'COMMENT', 'SHARE', 'BOOKMARK', 'HIDE']);

/**
 * Each user's recent actions in Redis, bounded and expiring, so every replica sees an action a moment after it
 * happened: a list of the newest actions, the set of posts seen, the posts hidden and the accounts muted.
 * Written by LiveActivityKafkaConsumer; read by every Recommend.
 */
@Injectable()
export class UserStateRepository {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(RECOMMENDER_CONFIG) private readonly config: RecommenderConfig,
  ) {
    this.prefix = `${config.RECS_REDIS_PREFIX}u:`;
  }

  /** Records actions, oldest first; idempotent apart from the recent list (a replayed action appears twice there). */
  async record(actions: readonly (RecentAction & { userId: string })[]): Promise<void> {
    if (actions.length === 0) return;
    const ttl = Math.ceil(this.config.RECS_ACTIONS_TTL / 1000);
    const hiddenTtl = Math.ceil(this.config.RECS_HIDDEN_TTL / 1000);
    const touched = new Set<string>();
    const multi = this.redis.multi();
    for (const a of actions) {
      const u = `${this.prefix}${a.userId}`;
      touched.add(a.userId);
      multi.lpush(`${u}:acts`, `${a.target}|${a.type}|${a.atMs}|${a.targetId}`);
      if (a.target === 'POST' && SEEN_TYPES.has(a.type)) multi.sadd(`${u}:seen`, a.targetId);
      if (a.target === 'POST' && a.type === 'HIDE') {
        multi.sadd(`${u}:hidden`, a.targetId);
        multi.expire(`${u}:hidden`, hiddenTtl);
      }
      if (a.target === 'USER' && (a.type === 'HIDE' || a.type === 'UNFOLLOW')) {
        multi.sadd(`${u}:muted`, a.targetId);
        multi.expire(`${u}:muted`, hiddenTtl);
      }
      if (a.target === 'USER' && a.type === 'FOLLOW') multi.srem(`${u}:muted`, a.targetId);
    }
    for (const userId of touched) {
      const u = `${this.prefix}${userId}`;
      multi.ltrim(`${u}:acts`, 0, this.config.RECS_RECENT_ACTIONS - 1);
      multi.expire(`${u}:acts`, ttl);
      multi.expire(`${u}:seen`, ttl);
    }
    await multi.exec();
  }

  async read(userId: string): Promise<UserLiveState> {
    const u = `${this.prefix}${userId}`;
    const results = await this.redis
      .pipeline()
      .lrange(`${u}:acts`, 0, this.config.RECS_RECENT_ACTIONS - 1)
      .smembers(`${u}:seen`)
      .smembers(`${u}:hidden`)
      .smembers(`${u}:muted`)
      .exec();
    if (!results) throw new Error('redis pipeline returned nothing');
    for (const [error] of results) if (error) throw error;
    const [acts, seen, hidden, muted] = results.map(([, value]) => value as string[]);
    const recent: RecentAction[] = [];
    for (const line of acts) {
      const [target, type, at, ...id] = line.split('|');
      if (target !== 'POST' && target !== 'USER') continue;
      recent.push({ target, type, atMs: Number(at), targetId: id.join('|') });
    }
    return { recent, seen: new Set(seen), hidden: new Set(hidden), mutedAuthors: new Set(muted) };
  }
}
