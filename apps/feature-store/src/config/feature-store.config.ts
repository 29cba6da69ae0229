import { authEnv, env, loadConfig } from '@pulse/platform';
import { z } from 'zod';

/** Every environment variable of the feature store; see apps/feature-store/.env.example. */
export const featureStoreConfigSchema = z.object({
  SERVICE_NAME: env.string('feature-store'),
  LOG_LEVEL: env.logLevel(),
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50055),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8085),
  /** Authentication of every RPC (PULSE_AUTH, PULSE_AUTH_*), this service's own PULSE_API_KEY, GRPC_REFLECTION. */
  ...authEnv,
  KAFKA_BROKERS: env.hostList('127.0.0.1:29092'),
  REDIS_URL: env.url('redis://127.0.0.1:26379'),
  /** PostgreSQL holding the registry versions, materialisation watermarks and jobs. */
  PG_URL: env.url('postgres://pulse:pulse@127.0.0.1:25432/pulse'),
  /** Schema of the feature store's tables; tests isolate runs with it. */
  FEATURE_STORE_PG_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lowercase PostgreSQL identifier')
    .default('feature_store'),
  /** Apply pending SQL migrations at start (the `migrate` target does it otherwise). */
  FEATURE_STORE_AUTO_MIGRATE: env.bool(false),
  /** Folder of the SQL migrations; empty: beside the built program or apps/feature-store/migrations of a checkout. */
  FEATURE_STORE_MIGRATIONS_DIR: z.string().optional(),
  /** Registry project this replica serves (the `project:` of the definition files). */
  FEATURE_STORE_PROJECT: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/, 'lowercase letters, digits and _')
    .default('pulse'),
  /** Directory of the definition files (*.yaml) that `plan` and `apply` read. */
  FEATURE_STORE_REPO_DIR: env.string('feature_repo'),
  /** How often the cached registry checks PostgreSQL for a newer version; reads never wait for it. */
  FEATURE_STORE_REGISTRY_REFRESH: env.duration('5s').refine((ms) => ms >= 100, 'at least 100ms'),
  /** Prefix of every online-store key in Redis; tests isolate runs with it. */
  FEATURE_STORE_REDIS_PREFIX: env.string('pulse:fs:'),
  /**
   * How long an expired value stays in Redis (answered EXPIRED) before the key may be dropped; the key
   * lives until the latest view's event time + ttl + this.
   */
  FEATURE_STORE_EXPIRED_RETENTION: env.duration('1d'),
  /** Root directory of the Delta lake; entity files, sources and outputs are paths under it. */
  LAKE_ROOT: env.string('tmp/lake'),
  /** Memory DuckDB may use for retrieval and materialisation (DuckDB syntax, e.g. 512MB, 2GB). */
  FEATURE_STORE_DUCKDB_MEMORY: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/, 'a size like 512MB or 2GB')
    .default('1GB'),
  /** Threads of DuckDB. */
  FEATURE_STORE_DUCKDB_THREADS: env.int(2, 1, 64),
  /** Entities per Redis round trip when materialising; bounds memory together with DuckDB's chunks. */
  FEATURE_STORE_MATERIALIZE_BATCH: env.int(1000, 1, 100_000),
  /**
   * Source rows per pass of materialisation and of historical retrieval: more rows are processed in passes
   * over hash partitions of the entities, so DuckDB holds the state of a share of them at a time.
   */
  FEATURE_STORE_OFFLINE_PARTITION_ROWS: env.int(2_000_000, 1),
  /** Whether this replica consumes the aggregates topics of Kafka-sourced views and pushes them online. */
  FEATURE_STORE_AGGREGATES_CONSUMER: env.bool(true),
  /** Consumer group of the aggregates consumer. */
  FEATURE_STORE_AGGREGATES_GROUP: env.string('feature-store-aggregates'),
  /** A PENDING or RUNNING job without a heartbeat for this long is reported FAILED (the replica running it stopped). */
  FEATURE_STORE_JOB_STALE: env.duration('2m').refine((ms) => ms >= 1000, 'at least 1s'),
  /** Push rows whose event time is further ahead of the server clock than this are refused. */
  FEATURE_STORE_MAX_FUTURE_SKEW: env.duration('5m'),
});

export type FeatureStoreConfig = z.infer<typeof featureStoreConfigSchema>;

export const FEATURE_STORE_CONFIG = Symbol('FEATURE_STORE_CONFIG');

export function loadFeatureStoreConfig(overrides: Record<string, string | undefined> = {}): FeatureStoreConfig {
  return loadConfig('feature-store', featureStoreConfigSchema, { ...process.env, ...overrides });
}
