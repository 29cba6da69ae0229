import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Topics } from '@pulse/contracts';
import {
  HealthRegistry,
  isPermanentCassandraError,
  KAFKA_CLIENT,
  type KafkaClient,
  LOGGER,
  type Logger,
  ServiceMetrics,
  type SupervisedConsumer,
  superviseConsumer,
} from '@pulse/platform';
import { Counter } from 'prom-client';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { ActivityRepository } from './activity.cassandra.repository';

/**
 * Writes pulse.activity.tracked.v1 into activity_by_user. At-least-once: offsets are committed only
 * after Cassandra acknowledged the batch; the writes are idempotent, so a replay duplicates nothing.
 * A record that cannot be decoded, or that Cassandra refuses (an invalid value), goes to
 * pulse.deadletter.<group>.v1; Cassandra being unreachable is retried with backoff.
 */
@Injectable()
export class ActivityKafkaConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private supervised?: SupervisedConsumer;
  private readonly written: Counter;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly activity: ActivityRepository,
    private readonly health: HealthRegistry,
    private readonly metrics: ServiceMetrics,
  ) {
    this.written = new Counter({
      name: 'storage_activity_written_total',
      help: 'Activity events written to Cassandra from pulse.activity.tracked.v1',
      registers: [metrics.registry],
    });
  }

  onApplicationBootstrap() {
    if (!this.config.STORAGE_ACTIVITY_CONSUMER) return;
    this.supervised = superviseConsumer({
      name: 'activity-consumer',
      kafka: this.kafka,
      topics: [Topics.activityTracked],
      consume: { groupId: this.config.STORAGE_ACTIVITY_GROUP, from: 'earliest', maxBatchSize: 1000 },
      handler: async (batch) => {
        const events = batch.flatMap((r) => (r.value ? [r.value] : []));
        await this.activity.write(events);
        this.written.inc(events.length);
      },
      isPermanent: isPermanentCassandraError,
      logger: this.logger,
      health: this.health,
      metrics: this.metrics,
    });
  }

  async onApplicationShutdown() {
    await this.supervised?.stop();
  }
}
