import { Counter, Gauge } from 'prom-client';
import type { ServiceMetrics } from '../metrics/metrics';

/** Lag of one partition a consumer is assigned: the partition's end offset minus the group's next offset. */
export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

/** What a consumer tells the lag gauge at each scrape. */
export interface LagSource {
  readonly groupId: string;
  lag(): Promise<PartitionLag[]>;
}

/** How long a scrape waits for one consumer's lag (a listOffsets round trip) before leaving it out. */
const LAG_TIMEOUT_MS = 2_000;

/**
 * The platform Kafka client's metrics, the same in every service that uses Kafka, so that one dashboard reads
 * throughput per topic and lag per consumer group from any of them:
 *   kafka_producer_records_total{topic}                   records made durable (acks=all)
 *   kafka_consumer_records_total{group, topic}            records handled and committed
 *   kafka_consumer_lag_records{group, topic, partition}   end offset − committed offset, read at scrape time
 */
export class KafkaMetrics {
  private readonly producedRecords: Counter<'topic'>;
  private readonly consumedRecords: Counter<'group' | 'topic'>;

  constructor(metrics: ServiceMetrics, sources: () => Iterable<LagSource>) {
    const registers = [metrics.registry];
    this.producedRecords = new Counter({
      name: 'kafka_producer_records_total',
      help: 'Records written to Kafka and acknowledged by all in-sync replicas, by topic',
      labelNames: ['topic'],
      registers,
    });
    this.consumedRecords = new Counter({
      name: 'kafka_consumer_records_total',
      help: 'Records handled by a consumer group member and committed, by group and topic',
      labelNames: ['group', 'topic'],
      registers,
    });
    new Gauge({
      name: 'kafka_consumer_lag_records',
      help: "Records of an assigned partition not yet committed by the group (end offset − the group's offset)",
      labelNames: ['group', 'topic', 'partition'],
      registers,
      async collect() {
        this.reset();
        await Promise.all(
          [...sources()].map(async (source) => {
            let timer: NodeJS.Timeout | undefined;
            const timeout = new Promise<PartitionLag[]>((resolve) => (timer = setTimeout(() => resolve([]), LAG_TIMEOUT_MS)));
            const lags = await Promise.race([source.lag().catch(() => []), timeout]).finally(() => clearTimeout(timer));
            for (const l of lags) this.set({ group: source.groupId, topic: l.topic, partition: String(l.partition) }, l.lag);
          }),
        );
      },
    });
  }

  produced(topic: string, records: number): void {
    this.producedRecords.inc({ topic }, records);
  }

  consumed(group: string, topic: string, records: number): void {
    this.consumedRecords.inc({ group, topic }, records);
  }
}
