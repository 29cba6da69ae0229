import type { TopicDefinition } from '@pulse/contracts';
import {
  errorMessage,
  type HealthRegistry,
  type IncomingRecord,
  type KafkaClient,
  kafkaErrorMessage,
  type Logger,
  type RecordPosition,
  type ServiceMetrics,
  type SupervisedConsumer,
  superviseConsumer,
} from '@pulse/platform';

/** What a stream does with each micro-batch; the runner owns the consumer around it. */
export interface StreamProcessor<K, V> {
  /** Next offsets per topic and partition that the sink has committed (a table's txns). */
  committedOffsets(): Promise<Map<string, Map<number, bigint>>>;
  /**
   * Handles one micro-batch; resolves once it is durable in the sink. `deadLettered`: records of the batch
   * already durable on the dead-letter topic, which the commit moves the offsets past (see README).
   */
  process(batch: IncomingRecord<K, V>[], deadLettered: readonly RecordPosition[]): Promise<BatchOutcome>;
  /** Event-time watermark, ms; null when the stream has none (yet). */
  watermarkMs(): number | null;
}

export interface BatchOutcome {
  /** Sink version committed; null when nothing was written. */
  version: number | null;
  written: number;
  skipped: number;
  /** Records not written as copies of an event already written (bronze/activity's event ids). */
  duplicates?: number;
}

export type StreamState = 'RUNNING' | 'PAUSED' | 'FAILED';

export interface StreamProgress {
  name: string;
  sinkTable: string;
  state: StreamState;
  lastBatchId: number;
  lastProgressAt: number | null;
  inputRowsPerSecond: number;
  processedRowsPerSecond: number;
  lastError: string;
}

export interface StreamCounters {
  onBatch(stream: string, outcome: BatchOutcome, records: number, seconds: number): void;
}

/**
 * One streaming query: a consumer group on its source topics feeding a processor, micro-batch by
 * micro-batch (a batch closes after the trigger interval or at the size limit). At start the group's
 * Kafka offsets are aligned with what the sink committed, so the stream resumes from the table, not
 * from Kafka; offsets go back to Kafka only after the sink committed. Pause stops after the current
 * batch; resume starts a new consumer from the sink's offsets.
 */
export class StreamRunner<K, V> {
  private supervised?: SupervisedConsumer;
  private state: StreamState = 'PAUSED';
  private lastBatchId = -1;
  private lastProgressAt: number | null = null;
  private lastBatchStartedAt: number | null = null;
  private inputRate = 0;
  private processedRate = 0;
  private lastError = '';
  private transition: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly sinkTable: string,
    readonly topics: readonly TopicDefinition<K, V>[],
    private readonly groupId: string,
    private readonly processor: StreamProcessor<K, V>,
    private readonly deps: {
      kafka: KafkaClient;
      logger: Logger;
      health: HealthRegistry;
      metrics?: ServiceMetrics;
      counters: StreamCounters;
      maxBatchRecords: number;
      triggerIntervalMs: number;
    },
  ) {}

  start(): Promise<void> {
    return this.serialize(async () => {
      if (this.state === 'RUNNING') return;
      await this.alignGroupOffsets();
      this.supervised = superviseConsumer({
        name: `stream:${this.name}`,
        kafka: this.deps.kafka,
        topics: this.topics,
        consume: {
          groupId: this.groupId,
          from: 'earliest',
          maxBatchSize: this.deps.maxBatchRecords,
          maxBatchWaitMs: this.deps.triggerIntervalMs,
        },
        handler: (batch, context) => this.handle(batch, context.deadLettered),
        // A poison record the table has moved past (its dead letter came before that commit) is not sent again.
        sinkOffsets: () => this.processor.committedOffsets(),
        logger: this.deps.logger,
        health: this.deps.health,
        metrics: this.deps.metrics,
      });
      this.state = 'RUNNING';
      this.deps.logger.info({ stream: this.name, group: this.groupId, topics: this.topics.map((t) => t.name) }, 'stream started');
    });
  }

  /** Stops after the current batch; offsets stay in the sink. Idempotent. */
  pause(): Promise<void> {
    return this.serialize(async () => {
      if (this.state !== 'RUNNING') return;
      await this.supervised?.stop();
      this.supervised = undefined;
      this.state = 'PAUSED';
      this.deps.logger.info({ stream: this.name }, 'stream paused');
    });
  }

  resume(): Promise<void> {
    return this.start();
  }

  progress(): StreamProgress {
    return {
      name: this.name,
      sinkTable: this.sinkTable,
      state: this.state,
      lastBatchId: this.lastBatchId,
      lastProgressAt: this.lastProgressAt,
      inputRowsPerSecond: this.inputRate,
      processedRowsPerSecond: this.processedRate,
      lastError: this.lastError,
    };
  }

  watermarkMs(): number | null {
    return this.processor.watermarkMs();
  }

  committedOffsets(): Promise<Map<string, Map<number, bigint>>> {
    return this.processor.committedOffsets();
  }

  private async handle(batch: IncomingRecord<K, V>[], deadLettered: readonly RecordPosition[]): Promise<void> {
    const started = Date.now();
    try {
      const outcome = await this.processor.process(batch, deadLettered);
      const seconds = Math.max((Date.now() - started) / 1000, 1e-3);
      const sincePrevious = this.lastBatchStartedAt === null ? seconds : Math.max((started - this.lastBatchStartedAt) / 1000, 1e-3);
      this.inputRate = batch.length / sincePrevious;
      this.processedRate = batch.length / seconds;
      this.lastBatchStartedAt = started;
      if (outcome.version !== null) this.lastBatchId = outcome.version;
      this.lastProgressAt = Date.now();
      this.lastError = '';
      this.deps.counters.onBatch(this.name, outcome, batch.length, seconds);
    } catch (error) {
      // Retried by the supervisor (transient) or dead-lettered (permanent); the stream stays RUNNING meanwhile.
      this.lastError = kafkaErrorMessage(error) || errorMessage(error);
      throw error;
    }
  }

  /**
   * Points the group at the sink's offsets for the partitions the sink has seen. Only possible while no
   * replica of the group is running; when one is, its own commits already follow the sink.
   */
  private async alignGroupOffsets(): Promise<void> {
    const committed = await this.processor.committedOffsets();
    for (const [topic, offsets] of committed) {
      if (offsets.size === 0) continue;
      try {
        await this.deps.kafka.admin.setGroupOffsets(this.groupId, topic, offsets);
        this.deps.logger.info({ stream: this.name, topic, partitions: offsets.size }, 'consumer group aligned with the table');
      } catch (error) {
        this.deps.logger.info(
          { stream: this.name, topic, reason: kafkaErrorMessage(error) },
          'consumer group has active members; resuming from its offsets, filtered by the table',
        );
      }
    }
  }

  private serialize(step: () => Promise<void>): Promise<void> {
    const next = this.transition.then(step, step);
    this.transition = next.catch(() => undefined);
    return next;
  }
}
