import { env, loadConfig } from '@pulse/platform';
import { z } from 'zod';

/** Every environment variable of the simulator service; see apps/simulator/.env.example. */
export const simulatorConfigSchema = z.object({
  SERVICE_NAME: env.string('simulator'),
  LOG_LEVEL: env.logLevel(),
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50057),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8087),
  PG_URL: env.url('postgres://pulse:pulse@127.0.0.1:25432/pulse'),
  /** The service's own PostgreSQL schema (its tables and schema_migrations). */
  SIMULATOR_PG_SCHEMA: env.identifier('simulator'),
  /** Apply pending migrations at start (the `migrate` target does it otherwise). */
  SIMULATOR_AUTO_MIGRATE: env.bool(false),
  /** Folder of the migrations; empty: beside the built program or apps/simulator/migrations. */
  SIMULATOR_MIGRATIONS_DIR: z.string().optional(),
});

export type SimulatorConfig = z.infer<typeof simulatorConfigSchema>;

export const SIMULATOR_CONFIG = Symbol('SIMULATOR_CONFIG');

export function loadSimulatorConfig(overrides: Record<string, string | undefined> = {}): SimulatorConfig {
  return loadConfig('simulator', simulatorConfigSchema, { ...process.env, ...overrides });
}
