import { authEnv, env, loadConfig } from '@pulse/platform';
import { z } from 'zod';

/**
 * A PostgreSQL identifier as written unquoted in SQL (lower case); quoted everywhere it is used. Wider than
 * env.identifier (which also fits Cassandra: a letter first, no `$`, at most 48 characters): PostgreSQL names
 * such as `_cdc`, `a$b` or 63 characters long stay valid here.
 */
const IDENTIFIER = /^[a-z_][a-z0-9_$]{0,62}$/;

const identifier = (fallback: string) =>
  env.string(fallback).refine((s) => IDENTIFIER.test(s), {
    message: 'expected a lower-case PostgreSQL identifier ([a-z_][a-z0-9_$]*, at most 63 characters)',
  });

/** Comma-separated table names, each `table` (in CDC_SCHEMA) or `schema.table`; empty = every table of CDC_SCHEMA. */
const tableList = () =>
  z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .refine((tables) => tables.every((t) => t.split('.').length <= 2 && t.split('.').every((part) => IDENTIFIER.test(part))), {
      message: 'expected a comma-separated list of table or schema.table names (lower-case identifiers)',
    });

/** Every environment variable of the cdc service; see apps/cdc/.env.example. */
export const cdcConfigSchema = z.object({
  SERVICE_NAME: env.string('cdc'),
  LOG_LEVEL: env.logLevel(),
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50052),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8082),
  /** Authentication of every RPC (PULSE_AUTH, PULSE_AUTH_*), this service's own PULSE_API_KEY, GRPC_REFLECTION. */
  ...authEnv,
  KAFKA_BROKERS: env.hostList('127.0.0.1:29092'),
  /** The app database captured; the role needs REPLICATION (or superuser) and SELECT on the tables. */
  PG_URL: env.url('postgres://pulse:pulse@127.0.0.1:25432/pulse'),
  /** Logical server name: `source.name` of every event (Debezium's `topic.prefix`) and the connector's name. */
  CDC_SERVER_NAME: env.string('pulse'),
  /** Schema whose tables are captured (all of them unless CDC_TABLES names some); also where `migrate` applies. */
  CDC_SCHEMA: identifier('public'),
  /** Tables captured, `table` or `schema.table`, comma-separated; empty captures every table of CDC_SCHEMA. */
  CDC_TABLES: tableList(),
  /** Publication the service creates and keeps in line with CDC_SCHEMA / CDC_TABLES. */
  CDC_PUBLICATION: identifier('pulse_cdc'),
  /** Logical replication slot (plugin pgoutput) the service creates and reads. */
  CDC_SLOT: identifier('pulse_cdc'),
  /** `initial`: when the slot is created, read every table first (op r), then stream; `no_data`: stream only. */
  CDC_SNAPSHOT_MODE: z.enum(['initial', 'no_data']).default('initial'),
  /** Schema of the service's own bookkeeping table (snapshot done, last seen table shapes). */
  CDC_STATE_SCHEMA: identifier('pulse_cdc'),
  /** Every so often a heartbeat message is written to the WAL and, once it streams back, to Kafka; 0s disables. */
  CDC_HEARTBEAT_INTERVAL: env.duration('10s'),
  /** Standby status updates to the server at least this often (below the server's wal_sender_timeout). */
  CDC_STATUS_INTERVAL: env.duration('10s'),
  /** How often the slot's lag is read from pg_replication_slots. */
  CDC_LAG_CHECK_INTERVAL: env.duration('5s'),
  /** Unconfirmed WAL (bytes) beyond which the service alerts: error log, metric, readiness check failing. */
  CDC_MAX_LAG_BYTES: env.int(1024 * 1024 * 1024, 1),
  /** Records per Kafka produce; a longer transaction is sent in several produces and confirmed after the last. */
  CDC_MAX_BATCH_RECORDS: env.int(5000, 1, 100_000),
  /** Rows fetched per round trip while snapshotting. */
  CDC_SNAPSHOT_FETCH_SIZE: env.int(2000, 1, 100_000),
  /** Rows per chunk of an incremental snapshot when the request does not say (Debezium's incremental.snapshot.chunk.size). */
  CDC_INCREMENTAL_SNAPSHOT_CHUNK_SIZE: env.int(1024, 1, 100_000),
  /** A delete is followed by a tombstone (same key, null value), as Debezium's `tombstones.on.delete`. */
  CDC_TOMBSTONES_ON_DELETE: env.bool(true),
  /** Adds the `transaction` block (id, total_order, data_collection_order), as Debezium's `provide.transaction.metadata`. */
  CDC_PROVIDE_TRANSACTION_METADATA: env.bool(true),
  /** Delay before reconnecting after the replication stream or Kafka failed; doubles up to 30s. */
  CDC_RETRY_BACKOFF: env.duration('500ms'),
  /** Folder of the migrations applied by `migrate` (found next to the program when unset). */
  CDC_MIGRATIONS_DIR: z.string().optional(),
});

export type CdcConfig = z.infer<typeof cdcConfigSchema>;

export const CDC_CONFIG = Symbol('CDC_CONFIG');

export function loadCdcConfig(overrides: Record<string, string | undefined> = {}): CdcConfig {
  return loadConfig('cdc', cdcConfigSchema, { ...process.env, ...overrides });
}
