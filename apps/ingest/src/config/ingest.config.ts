import { authEnv, env, loadConfig } from '@pulse/platform';
import { z } from 'zod';

/** Every environment variable of the ingest service; see apps/ingest/.env.example. */
export const ingestConfigSchema = z.object({
  SERVICE_NAME: env.string('ingest'),
  LOG_LEVEL: env.logLevel(),
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50051),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8081),
  /** Authentication of every RPC (PULSE_AUTH, PULSE_AUTH_*), this service's own PULSE_API_KEY, GRPC_REFLECTION. */
  ...authEnv,
  KAFKA_BROKERS: env.hostList('127.0.0.1:29092'),
  REDIS_URL: env.url('redis://127.0.0.1:26379'),
  /** Prefix of the dedup keys in Redis; tests isolate runs with it. */
  INGEST_DEDUP_KEY_PREFIX: env.string('pulse:ingest:dedup:'),
  /** How long an accepted event_id is remembered for deduplication. */
  INGEST_DEDUP_TTL: env.duration('24h'),
  /** Events further in the future than this (client clock ahead) are rejected. */
  INGEST_MAX_FUTURE_SKEW: env.duration('5m'),
  /** Events older than this are rejected. */
  INGEST_MAX_PAST_SKEW: env.duration('7d'),
  /** Events per TrackEvents call. */
  INGEST_MAX_BATCH_EVENTS: env.int(1000, 1, 10_000),
  /**
   * Largest Kafka record of one event (bytes, protobuf); an event over it is REJECTED with TOO_LARGE, naming its
   * largest field. Lowered at start to what the topics accept (their max.message.bytes, less a margin).
   */
  INGEST_MAX_EVENT_BYTES: env.int(262_144, 1024),
  /**
   * Bytes of records sent to Kafka in one produce request; a call's records go in as many requests as needed, in
   * order. Lowered at start to the topics' max.message.bytes, less a margin.
   */
  INGEST_MAX_PRODUCE_BYTES: env.int(1_048_576, 4096),
  /** Events being made durable at once, across calls; beyond it calls get RESOURCE_EXHAUSTED. */
  INGEST_MAX_IN_FLIGHT_EVENTS: env.int(100_000, 1),
});

export type IngestConfig = z.infer<typeof ingestConfigSchema>;

export const INGEST_CONFIG = Symbol('INGEST_CONFIG');

export function loadIngestConfig(overrides: Record<string, string | undefined> = {}): IngestConfig {
  return loadConfig('ingest', ingestConfigSchema, { ...process.env, ...overrides });
}
