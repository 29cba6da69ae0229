import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type { TopicDefinition } from '@pulse/contracts';
import { HealthRegistry, KAFKA_CLIENT, type KafkaClient, LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { ETL_CONFIG, type EtlConfig } from '../config/etl.config';
import { StreamMetrics } from './stream-metrics';
import { type StreamProcessor, StreamRunner } from './stream-runner.kafka.consumer';

/**
 * The streams this replica runs, by name: it starts them (one consumer group per stream,
 * <ETL_GROUP_PREFIX><name>), and is what GetStatus, PauseStream and ResumeStream act on.
 */
@Injectable()
export class StreamRegistry implements BeforeApplicationShutdown {
  private readonly streams = new Map<string, StreamRunner<any, any>>();

  constructor(
    @Inject(ETL_CONFIG) private readonly config: EtlConfig,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly health: HealthRegistry,
    private readonly metrics: StreamMetrics,
    private readonly serviceMetrics: ServiceMetrics,
  ) {}

  /** Starts a stream writing to `sinkTable` from `topics`, and registers it. */
  async launch<K, V>(
    name: string,
    sinkTable: string,
    topics: readonly TopicDefinition<K, V>[],
    processor: StreamProcessor<K, V>,
  ): Promise<StreamRunner<K, V>> {
    if (this.streams.has(name)) throw new Error(`stream ${name} registered twice`);
    const runner = new StreamRunner<K, V>(name, sinkTable, topics, `${this.config.ETL_GROUP_PREFIX}${name}`, processor, {
      kafka: this.kafka,
      logger: this.logger,
      health: this.health,
      metrics: this.serviceMetrics,
      counters: this.metrics,
      maxBatchRecords: this.config.ETL_MAX_BATCH_RECORDS,
      triggerIntervalMs: this.config.ETL_TRIGGER_INTERVAL,
    });
    this.streams.set(name, runner);
    await runner.start();
    return runner;
  }

  get(name: string): StreamRunner<any, any> | undefined {
    return this.streams.get(name);
  }

  all(): StreamRunner<any, any>[] {
    return [...this.streams.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // Before the Kafka client closes: each stream finishes (commits) its current batch and leaves its group.
  async beforeApplicationShutdown() {
    await Promise.all(this.all().map((s) => s.pause()));
  }
}
