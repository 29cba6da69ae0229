import { env, loadConfig } from '@pulse/platform';
import { z } from 'zod';

/** Every environment variable of the analytics service; see apps/analytics/.env.example. */
export const analyticsConfigSchema = z.object({
  SERVICE_NAME: env.string('analytics'),
  LOG_LEVEL: env.logLevel(),
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50058),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8088),
  PG_URL: env.url('postgres://pulse:pulse@127.0.0.1:25432/pulse'),
  /** The service's own PostgreSQL schema (its tables and schema_migrations). */
  ANALYTICS_PG_SCHEMA: env.identifier('analytics'),
  /** Apply pending migrations at start (the `migrate` target does it otherwise). */
  ANALYTICS_AUTO_MIGRATE: env.bool(false),
  /** Folder of the migrations; empty: beside the built program or apps/analytics/migrations. */
  ANALYTICS_MIGRATIONS_DIR: z.string().optional(),
});

export type AnalyticsConfig = z.infer<typeof analyticsConfigSchema>;

export const ANALYTICS_CONFIG = Symbol('ANALYTICS_CONFIG');

export function loadAnalyticsConfig(overrides: Record<string, string | undefined> = {}): AnalyticsConfig {
  return loadConfig('analytics', analyticsConfigSchema, { ...process.env, ...overrides });
}
