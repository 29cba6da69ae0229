import { authEnv, env, kafkaEnv, leaderElectionEnv, loadConfig, LOCAL_SUBJECT_KEY, telemetryEnv } from '@pulse/platform';
import { z } from 'zod';

const topicName = (fallback: string) =>
  z
    .string()
    .regex(/^pulse\.[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.v[1-9][0-9]*$/, 'a topic name pulse.<entity>.<event>.v<N>')
    .default(fallback);

/** Every environment variable of the etl service; see apps/etl/.env.example. */
export const etlConfigSchema = z.object({
  SERVICE_NAME: env.string('etl'),
  LOG_LEVEL: env.logLevel(),
  /** Tracing (TRACING_*) and log shipping (LOG_SHIPPING_*), both off by default: see @pulse/platform's telemetryEnv. */
  ...telemetryEnv,
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50054),
  HTTP_PORT: env.port(8084),
  /** Authentication of every RPC (PULSE_AUTH, PULSE_AUTH_*), this service's own PULSE_API_KEY, GRPC_REFLECTION. */
  ...authEnv,
  /** KAFKA_BROKERS, KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS, KAFKA_DELIVERY_TIMEOUT. */
  ...kafkaEnv,
  /** Where the lake lives: `fs` (LAKE_ROOT, a local or mounted directory) or `s3` (LAKE_S3_*). */
  LAKE_BACKEND: z.enum(['fs', 's3']).default('fs'),
  /** fs backend: root directory of the lake's Delta tables. */
  LAKE_ROOT: env.string('tmp/lake'),
  /** s3 backend: endpoint of an S3-compatible store; empty means AWS S3 of LAKE_S3_REGION. */
  LAKE_S3_ENDPOINT: z.union([z.literal(''), z.url()]).default(''),
  LAKE_S3_REGION: env.string('us-east-1'),
  LAKE_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a valid S3 bucket name')
    .default('pulse-lake'),
  /** s3 backend: key prefix of the lake in the bucket, e.g. `lake/`; empty or ending in "/". */
  LAKE_S3_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, 'empty, or path segments of [A-Za-z0-9._-] ending in "/"')
    .default(''),
  LAKE_S3_ACCESS_KEY_ID: z.string().default(''),
  LAKE_S3_SECRET_ACCESS_KEY: z.string().default(''),
  LAKE_S3_FORCE_PATH_STYLE: env.bool(true),
  LAKE_S3_CREATE_BUCKET: env.bool(false),
  /** DuckDB memory limit of this process (Parquet writes, compaction, backfills). */
  LAKE_MEMORY_LIMIT: env.string('1GB'),
  /** Target size of data files after compaction, bytes (Delta OPTIMIZE's maxFileSize). */
  LAKE_TARGET_FILE_SIZE: env.int(128 * 1024 * 1024, 1024 * 1024, 2 * 1024 ** 3),
  /** A Parquet checkpoint every this many commits (Delta's delta.checkpointInterval). */
  LAKE_CHECKPOINT_INTERVAL: env.int(10, 1, 10_000),
  /** Removed files are kept this long for time travel and readers; VACUUM refuses less than 7 days. */
  LAKE_VACUUM_RETENTION: env.duration('7d'),
  /** How often this replica compacts the tables whose small files pile up; 0s turns it off. */
  LAKE_COMPACTION_INTERVAL: env.duration('15m'),
  /** Source of the activity streams. */
  ETL_ACTIVITY_TOPIC: topicName('pulse.activity.tracked.v1'),
  /** Recommendation lists served (exposures), landed in bronze/recs_served; empty: not landed. */
  ETL_SERVED_TOPIC: z.union([z.literal(''), topicName('pulse.recs.served.v1')]).default('pulse.recs.served.v1'),
  /** Where events too late for their window go. */
  ETL_LATE_TOPIC: topicName('pulse.activity.late.v1'),
  /** Prefix of consumer groups, one per stream: <prefix><stream>. */
  ETL_GROUP_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/)
    .default('pulse-etl.'),
  /**
   * With LEADER_ELECTION: replicas running the singleton streams (ETL_AGGREGATE_STREAMS, the exposures join) elect
   * one through an advisory lock in this database; the others stand by and take over. Unused otherwise.
   */
  PG_URL: env.url('postgres://pulse:pulse@127.0.0.1:25432/pulse'),
  ...leaderElectionEnv(false),
  /** Whether this replica runs the bronze streams (scale out: any number of replicas, split by partition). */
  ETL_BRONZE_STREAMS: env.bool(true),
  /**
   * Event ids remembered per partition of the activity topic: a copy of an event within this many records after it
   * (ingest acknowledges at least once) is not written to bronze/activity again, nor counted again by the window
   * aggregates; 0 writes and counts every record.
   */
  ETL_DEDUPE_WINDOW: env.int(20_000, 0, 10_000_000),
  /** Key of the subject hashes of the erasure list (pulse.privacy.erasures.v1): the same secret in every service. */
  PRIVACY_SUBJECT_KEY: env.string(LOCAL_SUBJECT_KEY),
  /**
   * App-database tables whose CDC topics get a bronze table, comma-separated (schema.table or table); the
   * recommender trains from users, posts, follows and comments there, analytics reads blocks. Empty: none.
   */
  ETL_CDC_TABLES: z
    .string()
    .default('users,posts,follows,comments,blocks')
    .transform((s) =>
      s
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .refine((ts) => ts.every((t) => /^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/.test(t)), {
      message: 'expected table or schema.table names',
    }),
  /**
   * Whether this replica runs the window aggregates. They group by keys other than the partition key
   * (posts), so exactly one replica runs them (docs/decisions/0010).
   */
  ETL_AGGREGATE_STREAMS: env.bool(true),
  /** Prefix of aggregate names (and so of their tables and topics); for side-by-side deployments and tests. */
  ETL_AGGREGATE_PREFIX: z
    .string()
    .regex(/^([a-z][a-z0-9_]*)?$/)
    .default(''),
  /**
   * Whether this replica runs the exposures stream (experiments/exposures: served lists of experiments joined with
   * their outcomes). Like the aggregates, exactly one replica runs it; unset, it runs where the aggregates run
   * (ETL_AGGREGATE_STREAMS). Needs ETL_SERVED_TOPIC.
   */
  ETL_EXPERIMENT_STREAM: z
    .enum(['true', 'false', ''])
    .optional()
    .transform((v) => (v ? v === 'true' : undefined)),
  /** An outcome counts for a served list when it happens within this long after the list was served. */
  ETL_ATTRIBUTION_WINDOW: env.duration('30m'),
  /** Processing-time trigger: a micro-batch closes this long after its first record… */
  ETL_TRIGGER_INTERVAL: env.duration('5s'),
  /** …or once it holds this many records (Spark's maxOffsetsPerTrigger). */
  ETL_MAX_BATCH_RECORDS: env.int(50_000, 1, 1_000_000),
  /** Watermark = max event time seen − this delay (Spark's withWatermark, Flink's bounded out-of-orderness). */
  ETL_WATERMARK_DELAY: env.duration('2m'),
  /** Windows stay open for late events this long after the watermark passed their end (Flink's allowedLateness). */
  ETL_ALLOWED_LATENESS: env.duration('5m'),
});

export type EtlConfig = z.infer<typeof etlConfigSchema>;

export const ETL_CONFIG = Symbol('ETL_CONFIG');

export function loadEtlConfig(overrides: Record<string, string | undefined> = {}): EtlConfig {
  return loadConfig('etl', etlConfigSchema, { ...process.env, ...overrides });
}
