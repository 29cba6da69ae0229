import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { type ingestV1, Topics } from '@pulse/contracts';
import { type EventConsumer, KAFKA_CLIENT, type KafkaClient, LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { ActivityRepository } from './activity.cassandra.repository';

/**
 * Writes pulse.activity.tracked.v1 into activity_by_user. At-least-once: offsets are committed only
 * after Cassandra acknowledged the batch; the writes are idempotent, so a replay duplicates nothing.
 */
@Injectable()
export class ActivityKafkaConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private consumer?: EventConsumer<string, ingestV1.ActivityTracked>;
  private running?: Promise<void>;
  private readonly written: Counter;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly activity: ActivityRepository,
    metrics: ServiceMetrics,
  ) {
    this.written = new Counter({
      name: 'storage_activity_written_total',
      help: 'Activity events written to Cassandra from pulse.activity.tracked.v1',
      registers: [metrics.registry],
    });
  }

  onApplicationBootstrap() {
    if (!this.config.STORAGE_ACTIVITY_CONSUMER) return;
    this.consumer = this.kafka.consumer([Topics.activityTracked], {
      groupId: this.config.STORAGE_ACTIVITY_GROUP,
      from: 'earliest',
      maxBatchSize: 1000,
    });
    this.running = this.consumer
      .run(async (batch) => {
        const events = batch.flatMap((r) => (r.value ? [r.value] : []));
        await this.activity.write(events);
        this.written.inc(events.length);
      })
      .catch((error: unknown) => {
        // The batch stays uncommitted; the process exits non-zero so the orchestrator restarts it.
        this.logger.fatal({ err: error }, 'activity consumer stopped');
        process.exitCode = 1;
      });
  }

  async onApplicationShutdown() {
    await this.consumer?.close();
    await this.running;
  }
}
