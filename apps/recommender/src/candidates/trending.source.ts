import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { LOGGER, type Logger } from '@pulse/platform';
import { PostCatalogRepository } from '../catalog/post-catalog.redis.repository';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';
import { Peers, type PostEngagement } from './peers';

/** Posts the trending list considers: the newest of the catalogue. */
const CONSIDERED = 1000;
/** Posts it keeps. */
const KEPT = 100;

export interface TrendingList {
  posts: { id: string; createdAtMs: number; engagement: PostEngagement }[];
  /** When it was computed; 0 before the first success. */
  computedAtMs: number;
  /** Why the last refresh failed, if it did. */
  error?: string;
}

/**
 * What is trending: the recent posts of the catalogue (RECS_TRENDING_WINDOW) ranked by their engagement over
 * the last hour, as the etl aggregates computed it and the feature store serves it (post_engagement_1h).
 * Recomputed in the background every RECS_TRENDING_REFRESH, so a Recommend call reads it without waiting;
 * when the feature store is down the previous list stays (Recommend reports it as degraded once stale).
 */
@Injectable()
export class TrendingSource implements OnModuleInit, OnApplicationShutdown {
  private list: TrendingList = { posts: [], computedAtMs: 0 };
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;

  constructor(
    @Inject(RECOMMENDER_CONFIG) private readonly config: RecommenderConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly catalog: PostCatalogRepository,
    private readonly peers: Peers,
  ) {}

  onModuleInit(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.config.RECS_TRENDING_REFRESH);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get current(): TrendingList {
    return this.list;
  }

  /** Whether the list is older than three refresh periods (the feature store or Redis failing). */
  get stale(): boolean {
    return Date.now() - this.list.computedAtMs > 3 * this.config.RECS_TRENDING_REFRESH;
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.compute().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async compute(): Promise<void> {
    try {
      const recent = await this.catalog.recent(Date.now() - this.config.RECS_TRENDING_WINDOW, CONSIDERED);
      const engagement = await this.peers.engagement(
        recent.map((p) => p.id),
        Math.max(1_000, this.config.RECS_SOURCE_BUDGET * 5),
      );
      const posts = recent
        .flatMap((p) => {
          const e = engagement.get(p.id);
          return e && e.engagements > 0 ? [{ ...p, engagement: e }] : [];
        })
        .sort((a, b) => b.engagement.engagements - a.engagement.engagements || b.createdAtMs - a.createdAtMs)
        .slice(0, KEPT);
      this.list = { posts, computedAtMs: Date.now() };
    } catch (error) {
      this.list = { ...this.list, error: error instanceof Error ? error.message : String(error) };
      this.logger.debug({ err: error }, 'trending refresh failed; keeping the previous list');
    }
  }
}
