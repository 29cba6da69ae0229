import { Inject, Injectable } from '@nestjs/common';
import { KAFKA_CLIENT, type KafkaClient } from '@pulse/platform';
import type { StreamSource } from './exactly-once.sink';

/** The cluster the etl's Kafka client reads, whose id keys the streams' progress in the tables (asked once). */
@Injectable()
export class KafkaStreamSource implements StreamSource {
  private id?: Promise<string>;

  constructor(@Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient) {}

  clusterId(): Promise<string> {
    // A failed ask is not kept: the next batch asks again (the stream's retries cover an unreachable cluster).
    this.id ??= this.kafka.admin.clusterId().catch((error: unknown) => {
      this.id = undefined;
      throw error;
    });
    return this.id;
  }
}
