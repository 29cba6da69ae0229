import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { shareMetricsWithPrimary } from '../nest/processes';

/** One Prometheus registry per app, with the process metrics and the gRPC server metrics every service has. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly grpcHandled: Counter<'method' | 'code'>;
  readonly grpcSeconds: Histogram<'method'>;
  /** Records a consumer group wrote to its dead-letter topic, by reason (decode, permanent). */
  readonly consumerDeadLetters: Counter<'group' | 'reason'>;
  /** Retries of a batch (or record) after a transient failure, per consumer group. */
  readonly consumerRetries: Counter<'group'>;
  /** Consumers recreated after their loop failed (the broker unreachable past the client's own retries), per group. */
  readonly consumerReconnects: Counter<'group'>;

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    shareMetricsWithPrimary(this.registry);
    this.grpcHandled = new Counter({
      name: 'grpc_server_handled_total',
      help: 'gRPC calls completed, by method and status code',
      labelNames: ['method', 'code'],
      registers: [this.registry],
    });
    this.grpcSeconds = new Histogram({
      name: 'grpc_server_handling_seconds',
      help: 'Time to complete a gRPC call',
      labelNames: ['method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.consumerDeadLetters = new Counter({
      name: 'kafka_consumer_dead_letters_total',
      help: 'Records written to the dead-letter topic of a consumer group, by reason (decode: the bytes; permanent: the handling)',
      labelNames: ['group', 'reason'],
      registers: [this.registry],
    });
    this.consumerRetries = new Counter({
      name: 'kafka_consumer_retries_total',
      help: 'Retries of a batch after a transient failure of its handling, per consumer group',
      labelNames: ['group'],
      registers: [this.registry],
    });
    this.consumerReconnects = new Counter({
      name: 'kafka_consumer_reconnects_total',
      help: 'Consumers recreated after their loop failed (Kafka unreachable past the client retries), per consumer group',
      labelNames: ['group'],
      registers: [this.registry],
    });
  }
}
