import { Inject, Injectable } from '@nestjs/common';
import { millisToTimestamp, type recsV1, Topics } from '@pulse/contracts';
import { KAFKA_CLIENT, type KafkaClient, LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';
import { lostByDrill } from './exposure-loss-drill';

/**
 * Publishes every list served on pulse.recs.served.v1 (key = recommendation_id): what the user was shown, from
 * which sources, by which model and variant. etl lands it in the lake, where activity carrying the
 * recommendation_id joins it (attribution, experiments). Publishing never delays or fails the answer: a failed
 * send is counted and logged.
 */
@Injectable()
export class ServedPublisher {
  private readonly outcomes: Counter<'outcome'>;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(RECOMMENDER_CONFIG) private readonly config: RecommenderConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    this.outcomes = new Counter({
      name: 'recs_served_events_total',
      help: 'Lists published on pulse.recs.served.v1, by outcome (sent, failed, lost_by_drill)',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
  }

  publish(served: Omit<recsV1.RecommendationServed, 'servedAt'>): void {
    if (!this.config.RECS_PUBLISH_SERVED) return;
    if (lostByDrill(this.config.RECS_DRILL_LOSE_EXPOSURES, served.experimentId, served.variant, served.userId)) {
      this.outcomes.inc({ outcome: 'lost_by_drill' });
      return;
    }
    const value: recsV1.RecommendationServed = { ...served, servedAt: millisToTimestamp(Date.now()) };
    this.kafka.producer.send(Topics.recsServed, [{ key: served.recommendationId, value }]).then(
      () => this.outcomes.inc({ outcome: 'sent' }),
      (error: unknown) => {
        this.outcomes.inc({ outcome: 'failed' });
        this.logger.warn({ err: error, recommendationId: served.recommendationId }, 'publishing a served list failed');
      },
    );
  }
}
