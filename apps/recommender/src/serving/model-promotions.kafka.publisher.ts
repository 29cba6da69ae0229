import { Inject, Injectable } from '@nestjs/common';
import { KAFKA_CLIENT, type KafkaClient, LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import { type Promotion, publishPromotion } from '../registry/promotion-event';

/**
 * Publishes PromoteModel's and RollbackModel's promotions on pulse.recs.model.v1 (key "promoted"), so every
 * replica reloads at once instead of at its next look at the registry. Never delays or fails the RPC: the
 * promotion is in the registry already, a failed send is counted and logged, and replicas catch up by polling.
 */
@Injectable()
export class ModelPromotionsPublisher {
  private readonly outcomes: Counter<'outcome'>;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    this.outcomes = new Counter({
      name: 'recs_model_events_published_total',
      help: 'Promotions published on pulse.recs.model.v1, by outcome (sent, failed)',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
  }

  publish(promotion: Promotion): void {
    publishPromotion(this.kafka.producer, promotion).then(
      () => this.outcomes.inc({ outcome: 'sent' }),
      (error: unknown) => {
        this.outcomes.inc({ outcome: 'failed' });
        this.logger.warn({ err: error, version: promotion.version }, 'publishing a promotion failed; replicas pick it up by polling');
      },
    );
  }
}
