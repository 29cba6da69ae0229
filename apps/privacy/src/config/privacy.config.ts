import { env, loadConfig } from '@pulse/platform';
import { z } from 'zod';

/** Every environment variable of the privacy service; see apps/privacy/.env.example. */
export const privacyConfigSchema = z.object({
  SERVICE_NAME: env.string('privacy'),
  LOG_LEVEL: env.logLevel(),
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50058),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8088),
  PG_URL: env.url('postgres://pulse:pulse@127.0.0.1:25432/pulse'),
  /** The service's own PostgreSQL schema (its tables and schema_migrations). */
  PRIVACY_PG_SCHEMA: env.identifier('privacy'),
  /** Apply pending migrations at start (the `migrate` target does it otherwise). */
  PRIVACY_AUTO_MIGRATE: env.bool(false),
  /** Folder of the migrations; empty: beside the built program or apps/privacy/migrations. */
  PRIVACY_MIGRATIONS_DIR: z.string().optional(),
  REDIS_URL: env.url('redis://127.0.0.1:26379'),
  /** Prefix of this service's Redis keys; tests isolate runs with it. */
  PRIVACY_REDIS_PREFIX: env.string('pulse:privacy:'),
});

export type PrivacyConfig = z.infer<typeof privacyConfigSchema>;

export const PRIVACY_CONFIG = Symbol('PRIVACY_CONFIG');

export function loadPrivacyConfig(overrides: Record<string, string | undefined> = {}): PrivacyConfig {
  return loadConfig('privacy', privacyConfigSchema, { ...process.env, ...overrides });
}
