import { authEnv, env, loadConfig, telemetryEnv } from '@pulse/platform';
import { z } from 'zod';

/** Every environment variable of the experiments service; see apps/experiments/.env.example. */
export const experimentsConfigSchema = z.object({
  SERVICE_NAME: env.string('experiments'),
  LOG_LEVEL: env.logLevel(),
  /** Tracing (TRACING_*) and log shipping (LOG_SHIPPING_*), both off by default: see @pulse/platform's telemetryEnv. */
  ...telemetryEnv,
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50058),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8088),
  /** Authentication of every RPC (PULSE_AUTH, PULSE_AUTH_*), this service's own PULSE_API_KEY, GRPC_REFLECTION. */
  ...authEnv,
  PG_URL: env.url('postgres://pulse:pulse@127.0.0.1:25432/pulse'),
  /** The service's own PostgreSQL schema (its tables and schema_migrations). */
  EXPERIMENTS_PG_SCHEMA: env.identifier('experiments'),
  /** Apply pending migrations at start (the `migrate` target does it otherwise). */
  EXPERIMENTS_AUTO_MIGRATE: env.bool(false),
  /** Folder of the migrations; empty: beside the built program or apps/experiments/migrations. */
  EXPERIMENTS_MIGRATIONS_DIR: z.string().optional(),
  /** The recommender, asked whether a variant's model version exists (RecsService/GetModel). */
  RECS_GRPC_ADDR: env.address('127.0.0.1:50056'),
  /** Deadline of one call to the recommender. */
  RECS_DEADLINE: env.duration('2s'),
  /** Root directory of the Delta lake written by etl (experiments/exposures, bronze/activity). */
  LAKE_ROOT: env.string('tmp/lake'),
  /** Table of exposures and their outcomes under the lake root (etl's experiments stream writes it). */
  EXPERIMENTS_EXPOSURES_TABLE: env.string('experiments/exposures'),
  /** Table of tracked activity under the lake root: each user's engagement before the start, for CUPED. */
  EXPERIMENTS_ACTIVITY_TABLE: env.string('bronze/activity'),
  /** Memory DuckDB may use for results (DuckDB syntax, e.g. 512MB, 2GB). */
  EXPERIMENTS_DUCKDB_MEMORY: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/, 'a size like 512MB or 2GB')
    .default('1GB'),
  /** Threads of DuckDB. */
  EXPERIMENTS_DUCKDB_THREADS: env.int(2, 1, 64),
});

export type ExperimentsConfig = z.infer<typeof experimentsConfigSchema>;

export const EXPERIMENTS_CONFIG = Symbol('EXPERIMENTS_CONFIG');

export function loadExperimentsConfig(overrides: Record<string, string | undefined> = {}): ExperimentsConfig {
  return loadConfig('experiments', experimentsConfigSchema, { ...process.env, ...overrides });
}

/** The command line's settings (experiments-cli.js): where the service answers. */
export const cliConfigSchema = z.object({
  EXPERIMENTS_GRPC_ADDR: env.address('127.0.0.1:50058'),
  /** The caller's credentials (an API key or a JWT with the experiments scopes, or admin), as every client sends them. */
  PULSE_API_KEY: z.string().default(''),
  /** TLS towards the service, as its peers call it (GRPC_TLS_CA_FILE; with a certificate and key for mTLS). */
  GRPC_TLS_CA_FILE: authEnv.GRPC_TLS_CA_FILE,
  GRPC_TLS_CERT_FILE: authEnv.GRPC_TLS_CERT_FILE,
  GRPC_TLS_KEY_FILE: authEnv.GRPC_TLS_KEY_FILE,
});

export function loadCliConfig(overrides: Record<string, string | undefined> = {}): z.infer<typeof cliConfigSchema> {
  return loadConfig('experiments-cli', cliConfigSchema, { ...process.env, ...overrides });
}
