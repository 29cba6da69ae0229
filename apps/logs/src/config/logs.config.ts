import { authEnv, env, loadConfig, telemetryEnv } from '@pulse/platform';
import { z } from 'zod';

/** Every environment variable of the logs service; see apps/logs/.env.example. */
export const logsConfigSchema = z.object({
  SERVICE_NAME: env.string('logs'),
  LOG_LEVEL: env.logLevel(),
  /** Tracing (TRACING_*) and log shipping (LOG_SHIPPING_*), both off by default: see @pulse/platform's telemetryEnv. */
  ...telemetryEnv,
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50059),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8089),
  /** Authentication of every RPC (PULSE_AUTH, PULSE_AUTH_*), this service's own PULSE_API_KEY, GRPC_REFLECTION. */
  ...authEnv,
  KAFKA_BROKERS: env.hostList('127.0.0.1:29092'),
  /** Base URL of the log store (OpenSearch's REST API). */
  OPENSEARCH_URL: env.url('http://127.0.0.1:29200'),
  /** Timeout of one request to the log store. */
  OPENSEARCH_TIMEOUT: env.duration('10s'),
  /** Daily indices are `<prefix>-YYYY.MM.DD`; tests isolate runs with their own prefix. */
  LOGS_INDEX_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,39}$/, 'lowercase letters, digits and -, starting with a letter, at most 40')
    .default('pulse-logs'),
  /** Replicas of each daily index: 0 on the one-node local store, 1 or more in a cluster. */
  LOGS_INDEX_REPLICAS: env.int(0, 0, 5),
  /** How long lines are kept: whole days past it are deleted (by the store's ISM policy, or by this service). */
  LOGS_RETENTION: env.duration('7d'),
  /** Whether this replica indexes pulse.logs.v1 (a replica may serve searches only). */
  LOGS_CONSUMER: env.bool(true),
  /** Consumer group of the indexer (its dead letters: pulse.deadletter.<group>.v1). */
  LOGS_CONSUMER_GROUP: env.string('logs-indexer'),
  /** Lines per bulk request at most. */
  LOGS_BULK_MAX_LINES: env.int(2000, 1, 10_000),
});

export type LogsConfig = z.infer<typeof logsConfigSchema>;

export const LOGS_CONFIG = Symbol('LOGS_CONFIG');

export function loadLogsConfig(overrides: Record<string, string | undefined> = {}): LogsConfig {
  return loadConfig('logs', logsConfigSchema, { ...process.env, ...overrides });
}
