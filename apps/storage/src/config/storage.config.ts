import { authEnv, cassandraEnv, env, kafkaEnv, loadConfig, LOCAL_SUBJECT_KEY, telemetryEnv } from '@pulse/platform';
import { z } from 'zod';
import { lifecycleRulesFile, lifecycleRulesText } from '../media/lifecycle-rules';

/** Every environment variable of the storage service; see apps/storage/.env.example. */
export const storageConfigSchema = z.object({
  SERVICE_NAME: env.string('storage'),
  LOG_LEVEL: env.logLevel(),
  /** Tracing (TRACING_*) and log shipping (LOG_SHIPPING_*), both off by default: see @pulse/platform's telemetryEnv. */
  ...telemetryEnv,
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50053),
  HTTP_PORT: env.port(8083),
  /** Authentication of every RPC (PULSE_AUTH, PULSE_AUTH_*), this service's own PULSE_API_KEY, GRPC_REFLECTION. */
  ...authEnv,
  /** KAFKA_BROKERS, KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS, KAFKA_DELIVERY_TIMEOUT. */
  ...kafkaEnv,
  /** CASSANDRA_CONTACT_POINTS, CASSANDRA_LOCAL_DC, the login role (CASSANDRA_USERNAME/PASSWORD), CASSANDRA_TLS_*. */
  ...cassandraEnv,
  CASSANDRA_KEYSPACE: env.identifier('pulse_storage'),
  /**
   * Keyspace replication: `SimpleStrategy:1` locally, `NetworkTopologyStrategy:dc1=3,dc2=3` in deployment.
   */
  CASSANDRA_REPLICATION: env.cassandraReplication('SimpleStrategy:1'),
  /** Apply pending CQL migrations at start (the `migrate` target does it otherwise). */
  STORAGE_AUTO_MIGRATE: env.bool(false),
  /** Folder of the CQL migrations; empty: beside the built program or apps/storage/migrations of a checkout. */
  STORAGE_MIGRATIONS_DIR: z.string().optional(),
  /** Consumer group of the activity writer (pulse.activity.tracked.v1 → activity_by_user). */
  STORAGE_ACTIVITY_GROUP: env.string('storage-activity'),
  /** Whether this replica runs the activity consumer. */
  STORAGE_ACTIVITY_CONSUMER: env.bool(true),
  /** Whether this replica applies the app database's CDC topics (users, follows) to Cassandra. */
  STORAGE_CDC_CONSUMER: env.bool(true),
  /** Consumer group of the CDC applier. */
  STORAGE_CDC_GROUP: env.string('storage-cdc'),
  /** PostgreSQL schema of the app tables; selects the topics pulse.cdc[.<schema>].<table>.v1. */
  STORAGE_CDC_SCHEMA: env.string('public'),
  /** Key of the subject hashes of the erasure list (pulse.privacy.erasures.v1): the same secret in every service. */
  PRIVACY_SUBJECT_KEY: env.string(LOCAL_SUBJECT_KEY),
  /**
   * The app database (PostgreSQL) the graph reconciliation compares the edges of STORAGE_CDC_SCHEMA.follows with
   * (a role that may read that table is enough); empty: the pass compares the graph's tables with each other only.
   */
  STORAGE_APP_DB_URL: z.union([z.literal(''), z.url()]).default(''),
  /** How often the graph reconciliation runs (ReconcileGraph's pass); 0s turns the schedule off (the RPC still works). */
  STORAGE_RECONCILE_INTERVAL: env.duration('6h'),
  /** Whether this replica runs the scheduled reconciliation (any number may: a lease lets one pass run at a time). */
  STORAGE_RECONCILER: env.bool(true),
  /** Most users one user may follow (bounds following_by_user partitions). */
  STORAGE_MAX_FOLLOWING: env.int(7500, 1),
  /** BulkImportFollows: Cassandra writes (unlogged batches or single inserts) in flight per import stream. */
  STORAGE_IMPORT_CONCURRENCY: env.int(64, 1, 1024),
  /** BulkImportFollows: edges gathered from the stream before they are grouped per partition and written. */
  STORAGE_IMPORT_FLUSH_EDGES: env.int(20_000, 1, 1_000_000),
  /** Where media content lives: `fs` (MEDIA_ROOT on a local or mounted disk) or `s3` (any S3-compatible store, S3_*). */
  MEDIA_BACKEND: z.enum(['fs', 's3']).default('fs'),
  /** fs backend: root directory of uploads in progress (uploads/) and content by SHA-256 (blobs/). */
  MEDIA_ROOT: env.string('tmp/media'),
  /** fs backend: directory of the ARCHIVE tier (a cheaper disk, say); empty means MEDIA_ROOT/archive. */
  MEDIA_ARCHIVE_ROOT: z.string().default(''),
  /** Largest media object in bytes; PutMedia answers RESOURCE_EXHAUSTED above it. At most 5 GiB (one S3 CopyObject). */
  MEDIA_MAX_BYTES: env.int(104_857_600, 1, 5 * 1024 ** 3),
  /** Content types PutMedia accepts: comma-separated `type/subtype`, or `type/*` for every subtype. */
  MEDIA_ALLOWED_CONTENT_TYPES: z
    .string()
    .default('image/*,video/*,audio/*')
    .transform((s) =>
      s
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
    )
    .refine((types) => types.length > 0 && types.every((t) => /^[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/.test(t)), {
      message: 'expected a comma-separated list of type/subtype or type/*',
    }),
  /** Size of the content messages GetMedia sends, at most 1 MiB. */
  MEDIA_CHUNK_BYTES: env.int(262_144, 1024, 1_048_576),
  /** Lifecycle rules written inline, YAML or JSON (see src/media/lifecycle-rules.ts); empty means none. */
  MEDIA_LIFECYCLE_RULES: lifecycleRulesText(),
  /** Path of a YAML or JSON file of lifecycle rules; used instead of MEDIA_LIFECYCLE_RULES. */
  MEDIA_LIFECYCLE_RULES_FILE: lifecycleRulesFile(),
  /** How often this replica runs the lifecycle sweep; 0s turns the schedule off (RunLifecycleSweep still works). */
  MEDIA_SWEEP_INTERVAL: env.duration('1h'),
  /** Whether this replica runs the scheduled lifecycle sweep (one replica is enough; overlapping sweeps are safe). */
  MEDIA_SWEEPER: env.bool(true),
  /** s3 backend: endpoint URL of an S3-compatible store; empty means AWS S3 of S3_REGION. */
  S3_ENDPOINT: z.union([z.literal(''), z.url()]).default(''),
  S3_REGION: env.string('us-east-1'),
  /** s3 backend: the bucket holding media content (created at start only with S3_CREATE_BUCKET=true). */
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a valid S3 bucket name')
    .default('pulse-media'),
  /** s3 backend: static credentials; both empty means the SDK's default chain (env, profile, instance role). */
  S3_ACCESS_KEY_ID: z.string().default(''),
  S3_SECRET_ACCESS_KEY: z.string().default(''),
  /** s3 backend: path-style addressing (http://host/bucket/key), as most S3-compatible servers need. */
  S3_FORCE_PATH_STYLE: env.bool(true),
  /** s3 backend: key prefix of everything this service writes in the bucket, e.g. `media/`; empty or ending in "/". */
  S3_KEY_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, 'empty, or path segments of [A-Za-z0-9._-] ending in "/"')
    .default(''),
  /** s3 backend: storage class of the ARCHIVE tier; only classes readable without a restore. */
  S3_ARCHIVE_STORAGE_CLASS: z.enum(['GLACIER_IR', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'STANDARD']).default('GLACIER_IR'),
  /** s3 backend: part size of multipart uploads (5 MiB..5 GiB); also the most an upload holds in memory. */
  S3_PART_BYTES: env.int(8 * 1024 * 1024, 5 * 1024 * 1024, 5 * 1024 ** 3),
  /** s3 backend: create S3_BUCKET at start when it does not exist (local stacks and tests). */
  S3_CREATE_BUCKET: env.bool(false),
});

export type StorageConfig = z.infer<typeof storageConfigSchema>;

export const STORAGE_CONFIG = Symbol('STORAGE_CONFIG');

export function loadStorageConfig(overrides: Record<string, string | undefined> = {}): StorageConfig {
  return loadConfig('storage', storageConfigSchema, { ...process.env, ...overrides });
}

/** The graph-import command line's settings (graph-import.js): where the service answers, and as whom. */
export const cliConfigSchema = z.object({
  STORAGE_GRPC_ADDR: env.address('127.0.0.1:50053'),
  /** The caller's credentials: an API key or a JWT with the admin scope (BulkImportFollows and RecountFollows are admin RPCs). */
  PULSE_API_KEY: z.string().default(''),
  /** TLS towards the service, as its peers call it (GRPC_TLS_CA_FILE; with a certificate and key for mTLS). */
  GRPC_TLS_CA_FILE: authEnv.GRPC_TLS_CA_FILE,
  GRPC_TLS_CERT_FILE: authEnv.GRPC_TLS_CERT_FILE,
  GRPC_TLS_KEY_FILE: authEnv.GRPC_TLS_KEY_FILE,
});

export function loadCliConfig(overrides: Record<string, string | undefined> = {}): z.infer<typeof cliConfigSchema> {
  return loadConfig('graph-import', cliConfigSchema, { ...process.env, ...overrides });
}
