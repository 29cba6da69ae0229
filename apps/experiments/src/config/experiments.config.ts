import { env, loadConfig } from '@pulse/platform';
import { z } from 'zod';

/** Every environment variable of the experiments service; see apps/experiments/.env.example. */
export const experimentsConfigSchema = z.object({
  SERVICE_NAME: env.string('experiments'),
  LOG_LEVEL: env.logLevel(),
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50057),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8087),
  PG_URL: env.url('postgres://pulse:pulse@127.0.0.1:25432/pulse'),
  /** The service's own PostgreSQL schema (its tables and schema_migrations). */
  EXPERIMENTS_PG_SCHEMA: env.identifier('experiments'),
  /** Apply pending migrations at start (the `migrate` target does it otherwise). */
  EXPERIMENTS_AUTO_MIGRATE: env.bool(false),
  /** Folder of the migrations; empty: beside the built program or apps/experiments/migrations. */
  EXPERIMENTS_MIGRATIONS_DIR: z.string().optional(),
});

export type ExperimentsConfig = z.infer<typeof experimentsConfigSchema>;

export const EXPERIMENTS_CONFIG = Symbol('EXPERIMENTS_CONFIG');

export function loadExperimentsConfig(overrides: Record<string, string | undefined> = {}): ExperimentsConfig {
  return loadConfig('experiments', experimentsConfigSchema, { ...process.env, ...overrides });
}
