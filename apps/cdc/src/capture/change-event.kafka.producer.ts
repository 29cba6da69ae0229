import { Inject, Injectable } from '@nestjs/common';
import type { TopicDefinition } from '@pulse/contracts';
import { KAFKA_CLIENT, type KafkaClient, kafkaErrorMessage } from '@pulse/platform';
import { CaptureStatusService } from './capture-status.service';
import { CdcMetrics } from './cdc.metrics';
import { type EncodedRecord, topicBatches } from './kafka-records';

/** Upper bound of one produce, below the broker's default message.max.bytes (1 MiB). */
export const MAX_BATCH_BYTES = 900 * 1024;

/**
 * Puts the records of the snapshots and the stream on Kafka (Debezium's event dispatcher): the topics of
 * newly seen tables are created first, and a send resolves only once Kafka acknowledged every record
 * (idempotent producer, acks=all), which is what allows the slot to be confirmed after it.
 */
@Injectable()
export class ChangeEventProducer {
  private readonly ensuredTopics = new Set<string>();

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    private readonly metrics: CdcMetrics,
    private readonly status: CaptureStatusService,
  ) {}

  /** Puts records on Kafka (creating topics of newly seen tables first); resolves once all are acknowledged. */
  async send(records: readonly EncodedRecord[]): Promise<void> {
    const missing = new Map<string, TopicDefinition<any, any>>();
    for (const r of records) if (!this.ensuredTopics.has(r.topic.name)) missing.set(r.topic.name, r.topic);
    if (missing.size > 0) await this.ensureTopics([...missing.values()]);
    const done = this.metrics.produceSeconds.startTimer();
    try {
      await this.kafka.producer.sendMany(topicBatches(records));
    } catch (error) {
      throw new Error(`Kafka did not acknowledge ${records.length} change events: ${kafkaErrorMessage(error)}`);
    }
    done();
    this.status.recordsSent(records);
  }

  async ensureTopics(topics: readonly TopicDefinition<any, any>[]): Promise<void> {
    const missing = topics.filter((t) => !this.ensuredTopics.has(t.name));
    if (missing.length === 0) return;
    await this.kafka.admin.ensureTopics(missing);
    for (const t of missing) this.ensuredTopics.add(t.name);
  }
}
