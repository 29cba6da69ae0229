import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { type ShippedLog, Topics } from '@pulse/contracts';
import type { KafkaSettings } from '../kafka/kafka.types';
import { PlatformaticKafkaClient } from '../kafka/platformatic-kafka.client';
import type { LogSink } from './log-shipper';

/**
 * Ships log lines to `pulse.logs.v1` with a Kafka client of their own (so log traffic never queues behind the
 * service's records), creating the topic on the first send. Its sends are not traced.
 */
export class KafkaLogSink implements LogSink {
  private readonly kafka: PlatformaticKafkaClient;
  private ensured = false;

  constructor(brokers: string[], service: string, security: Pick<KafkaSettings, 'sasl' | 'tls'> = {}) {
    this.kafka = new PlatformaticKafkaClient({ brokers, clientId: `${service}-logs`, requestTimeoutMs: 10_000, ...security });
  }

  send(key: string, records: ShippedLog[]): Promise<void> {
    return context.with(suppressTracing(context.active()), async () => {
      if (!this.ensured) {
        await this.kafka.admin.ensureTopics([Topics.logs]);
        this.ensured = true;
      }
      await this.kafka.producer.send(
        Topics.logs,
        records.map((value) => ({ key, value })),
      );
    });
  }

  close(): Promise<void> {
    return this.kafka.close();
  }
}
