import { env } from '../config/load-config';

/**
 * The telemetry variables every service has (spread into its config schema): traces exported over OTLP, and a copy of
 * its logs shipped to Kafka for the log store. Both are off unless switched on (`./pulse up` and the Helm chart do).
 */
export const telemetryEnv = {
  /** Record spans (gRPC server and client, Kafka produce and consume, PostgreSQL, Cassandra, Redis) and export them. */
  TRACING_ENABLED: env.bool(false),
  /** OTLP/HTTP (protobuf) traces endpoint, e.g. Jaeger's collector. */
  TRACING_OTLP_URL: env.url('http://127.0.0.1:24318/v1/traces'),
  /** Share of new traces recorded (0..1); a call that arrives sampled or not keeps its caller's decision. */
  TRACING_SAMPLE_RATIO: env.number(1, 0, 1),
  /** Copy every log line to the Kafka topic pulse.logs.v1 (the log indexer puts them in the log store). */
  LOG_SHIPPING_ENABLED: env.bool(false),
  /** Kafka brokers the log lines go to (usually the same as KAFKA_BROKERS). */
  LOG_SHIPPING_BROKERS: env.hostList('127.0.0.1:29092'),
  /** Log lines held while Kafka is slow or away; beyond it the newest are dropped (and counted), never waited for. */
  LOG_SHIPPING_MAX_BUFFERED: env.int(10_000, 100),
  /** Key of the HMAC that replaces user ids in shipped log lines (the same id hashes the same everywhere). */
  LOG_SHIPPING_HASH_KEY: env.string('pulse-local-log-hash-key'),
};

/** The parsed telemetry settings (see `telemetryEnv`). */
export interface TelemetryConfig {
  TRACING_ENABLED: boolean;
  TRACING_OTLP_URL: string;
  TRACING_SAMPLE_RATIO: number;
  LOG_SHIPPING_ENABLED: boolean;
  LOG_SHIPPING_BROKERS: string[];
  LOG_SHIPPING_MAX_BUFFERED: number;
  LOG_SHIPPING_HASH_KEY: string;
}
