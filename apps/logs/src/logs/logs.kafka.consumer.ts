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
import { LOGS_CONFIG, type LogsConfig } from '../config/logs.config';
import { LogIndexer } from './log-indexer.service';

/**
 * Indexes pulse.logs.v1 in the group LOGS_CONSUMER_GROUP: batches of up to 2000 lines, collected for up to 250 ms,
 * committed once the store has them. While the store is away the batch is retried with backoff (readiness says so)
 * and the lines wait in Kafka (the topic keeps a day); a line the store refuses for good goes to the dead-letter topic.
 */
@Injectable()
export class LogsKafkaConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private supervised?: SupervisedConsumer;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(LOGS_CONFIG) private readonly config: LogsConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly indexer: LogIndexer,
    private readonly health: HealthRegistry,
    private readonly metrics: ServiceMetrics,
  ) {}

  onApplicationBootstrap() {
    if (!this.config.LOGS_CONSUMER) return;
    this.supervised = superviseConsumer({
      name: 'log-indexer',
      kafka: this.kafka,
      topics: [Topics.logs],
      consume: { groupId: this.config.LOGS_CONSUMER_GROUP, from: 'earliest', maxBatchSize: 2000, maxBatchWaitMs: 250 },
      handler: (batch) => this.indexer.index(batch),
      logger: this.logger,
      health: this.health,
      metrics: this.metrics,
    });
  }

  async onApplicationShutdown() {
    await this.supervised?.stop();
  }
}
