import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ingestV1, timestampToMillis, Topics } from '@pulse/contracts';
import {
  HealthRegistry,
  KAFKA_CLIENT,
  type KafkaClient,
  LOGGER,
  type Logger,
  ServiceMetrics,
  type SupervisedConsumer,
  superviseConsumer,
} from '@pulse/platform';
import { Counter, Histogram } from 'prom-client';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';
import { type RecentAction, UserStateRepository } from './user-state.redis.repository';

/** The action a tracked event means for the live state; undefined for events it ignores (comments' targets, unknown types). */
export function recentAction(tracked: ingestV1.ActivityTracked): (RecentAction & { userId: string }) | undefined {
  const e = tracked.event;
  if (!e?.userId || !e.target?.id) return undefined;
  const target =
    e.target.type === ingestV1.TargetType.TARGET_TYPE_POST
      ? 'POST'
      : e.target.type === ingestV1.TargetType.TARGET_TYPE_USER
        ? 'USER'
        : undefined;
  const name = ingestV1.ActivityType[e.type];
  if (!target || !name || e.type === ingestV1.ActivityType.ACTIVITY_TYPE_IMPRESSION) return undefined;
  return {
    userId: e.userId,
    target,
    targetId: e.target.id,
    type: name.slice('ACTIVITY_TYPE_'.length),
    atMs: e.occurredAt ? timestampToMillis(e.occurredAt) : Date.now(),
  };
}

/**
 * Reads pulse.activity.tracked.v1 in the recommender's own consumer group and records each user's actions in
 * the live state (UserStateRepository, in Redis for every replica), so the next Recommend of that user reflects
 * them: the post leaves the candidates at once and the user's representation is folded in from recent items.
 */
@Injectable()
export class LiveActivityKafkaConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private supervised?: SupervisedConsumer;
  private readonly recorded: Counter;
  private readonly lag: Histogram;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(RECOMMENDER_CONFIG) private readonly config: RecommenderConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly state: UserStateRepository,
    private readonly health: HealthRegistry,
    private readonly metrics: ServiceMetrics,
  ) {
    this.recorded = new Counter({
      name: 'recs_live_actions_total',
      help: 'User actions recorded in the live state from pulse.activity.tracked.v1',
      registers: [metrics.registry],
    });
    this.lag = new Histogram({
      name: 'recs_live_action_delay_seconds',
      help: 'From an action happening (occurred_at) to its being in the live state',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [metrics.registry],
    });
  }

  onApplicationBootstrap() {
    if (!this.config.RECS_LIVE_CONSUMER) return;
    this.supervised = superviseConsumer({
      name: 'live-activity-consumer',
      kafka: this.kafka,
      topics: [Topics.activityTracked],
      consume: { groupId: this.config.RECS_LIVE_GROUP, from: 'latest', maxBatchSize: 1000 },
      handler: async (batch) => {
        const actions = batch.flatMap((r) => (r.value ? [recentAction(r.value)] : [])).filter((a) => a !== undefined);
        await this.state.record(actions);
        const now = Date.now();
        for (const a of actions) this.lag.observe(Math.max(0, now - a.atMs) / 1000);
        this.recorded.inc(actions.length);
      },
      logger: this.logger,
      health: this.health,
      metrics: this.metrics,
    });
  }

  async onApplicationShutdown() {
    await this.supervised?.stop();
  }
}
