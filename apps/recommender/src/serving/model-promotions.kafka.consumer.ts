import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Topics } from '@pulse/contracts';
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
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter } from 'prom-client';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';
import { RecsService } from './recs.service';

/**
 * Follows pulse.recs.model.v1 in a consumer group of this replica alone (`<RECS_MODEL_GROUP_PREFIX><hostname>-<pid>-<id>`),
 * so every replica sees every promotion, and reloads the promoted version from the registry as soon as one
 * arrives (RecsService.syncPromoted): replicas follow a promotion made anywhere (PromoteModel on another
 * replica, `recs promote`, the quality gate) within about a second. The event only wakes the replica up; the
 * registry stays the truth, so an event about another registry's version changes nothing. It reads from the
 * end offsets taken at start, then looks at the registry once more, so a promotion made while the consumer
 * joins is not missed; RECS_REGISTRY_POLL stays as the slower fallback.
 */
@Injectable()
export class ModelPromotionsKafkaConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private supervised?: SupervisedConsumer;
  private readonly received: Counter;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(RECOMMENDER_CONFIG) private readonly config: RecommenderConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly recs: RecsService,
    private readonly health: HealthRegistry,
    private readonly metrics: ServiceMetrics,
  ) {
    this.received = new Counter({
      name: 'recs_model_events_received_total',
      help: 'Promotions received on pulse.recs.model.v1 (each makes the replica look at the registry)',
      registers: [metrics.registry],
    });
  }

  async onApplicationBootstrap() {
    const groupId = `${this.config.RECS_MODEL_GROUP_PREFIX}${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
    const since = await this.kafka.admin.endOffsets(Topics.recsModel.name).catch(() => undefined);
    this.supervised = superviseConsumer({
      name: 'model-promotions-consumer',
      kafka: this.kafka,
      topics: [Topics.recsModel],
      consume: { groupId, from: since && since.length > 0 ? { offsets: since } : 'latest' },
      handler: async (batch) => {
        const latest = batch.filter((r) => r.value).at(-1)?.value;
        if (!latest) return;
        this.received.inc(batch.length);
        this.logger.debug({ version: latest.version, rollback: latest.rollback }, 'promotion event received');
        await this.reload();
      },
      logger: this.logger,
      health: this.health,
      metrics: this.metrics,
    });
    await this.reload();
  }

  private async reload(): Promise<void> {
    await this.recs.syncPromoted(true).catch((error: unknown) => this.logger.error({ err: error }, 'reloading the promoted model failed'));
  }

  async onApplicationShutdown() {
    await this.supervised?.stop();
  }
}
