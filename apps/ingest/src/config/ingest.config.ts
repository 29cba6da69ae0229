import { authEnv, env, kafkaEnv, loadConfig, redisEnv, telemetryEnv } from '@pulse/platform';
import { z } from 'zod';

/** Every environment variable of the ingest service; see apps/ingest/.env.example. */
export const ingestConfigSchema = z.object({
  SERVICE_NAME: env.string('ingest'),
  LOG_LEVEL: env.logLevel(),
  /** Tracing (TRACING_*) and log shipping (LOG_SHIPPING_*), both off by default: see @pulse/platform's telemetryEnv. */
  ...telemetryEnv,
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50051),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8081),
  /** Authentication of every RPC (PULSE_AUTH, PULSE_AUTH_*), this service's own PULSE_API_KEY, GRPC_REFLECTION. */
  ...authEnv,
  /** KAFKA_BROKERS, KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS, KAFKA_DELIVERY_TIMEOUT. */
  ...kafkaEnv,
  /** REDIS_URL, or REDIS_SENTINELS and REDIS_SENTINEL_MASTER for a Sentinel-managed primary. */
  ...redisEnv,
  /** Prefix of the dedup keys in Redis; tests isolate runs with it. */
  INGEST_DEDUP_KEY_PREFIX: env.string('pulse:ingest:dedup:'),
  /** How long an accepted event_id is remembered for deduplication. */
  INGEST_DEDUP_TTL: env.duration('24h'),
  /**
   * How long a call waits when an earlier call (of any replica) is still writing some of its events — a client retrying
   * a call stuck behind a Kafka outage — before it is answered UNAVAILABLE with nothing written.
   */
  INGEST_DEDUP_PENDING_WAIT: env.duration('1s'),
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
  /**
   * What becomes of IP addresses (the client's context.ip_address and the connection's source_ip) before events
   * leave ingest: `truncate` (host bits zeroed), `hash` (salted SHA-256), `drop`, or `none`.
   */
  INGEST_IP_ANONYMIZATION: z.enum(['none', 'truncate', 'hash', 'drop']).default('truncate'),
  /** Bits of an IPv4 / IPv6 address that `truncate` keeps: /24 and /48 by default. */
  INGEST_IPV4_PREFIX_BITS: env.int(24, 0, 32),
  INGEST_IPV6_PREFIX_BITS: env.int(48, 0, 128),
  /** What becomes of the User-Agent (context.user_agent): `hash` (salted SHA-256), `drop`, or `none`. */
  INGEST_USER_AGENT_ANONYMIZATION: z.enum(['none', 'hash', 'drop']).default('hash'),
  /** Salt of the hashes above: a secret in deployment, so a hash cannot be matched against guessed values. */
  INGEST_PII_SALT: env.string('pulse-local-pii-salt'),
});

export type IngestConfig = z.infer<typeof ingestConfigSchema>;

export const INGEST_CONFIG = Symbol('INGEST_CONFIG');

export function loadIngestConfig(overrides: Record<string, string | undefined> = {}): IngestConfig {
  return loadConfig('ingest', ingestConfigSchema, { ...process.env, ...overrides });
}
