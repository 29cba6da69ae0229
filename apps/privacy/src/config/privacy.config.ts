import { authEnv, defaultPeerAddress, env, kafkaEnv, loadConfig, LOCAL_SUBJECT_KEY, redisEnv } from '@pulse/platform';
import { z } from 'zod';

/** Comma-separated entries, trimmed, empty ones dropped. */
const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) =>
      s
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    );

/** Every environment variable of the privacy service; see apps/privacy/.env.example. */
export const privacyConfigSchema = z.object({
  SERVICE_NAME: env.string('privacy'),
  LOG_LEVEL: env.logLevel(),
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50060),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8090),
  /**
   * Authentication of every RPC (PULSE_AUTH, PULSE_AUTH_*), GRPC_REFLECTION, and this service's own PULSE_API_KEY,
   * sent to storage (EraseUserData) and the feature store (DeleteEntity): a key with `privacy:erase`.
   */
  ...authEnv,
  ...kafkaEnv,
  /** PostgreSQL of the service's own schema (erasure jobs, their steps, the audit log). */
  PG_URL: env.url('postgres://pulse:pulse@127.0.0.1:25432/pulse'),
  /** The service's own PostgreSQL schema (its tables and schema_migrations). */
  PRIVACY_PG_SCHEMA: env.identifier('privacy'),
  /** Apply pending migrations at start (the `migrate` target does it otherwise). */
  PRIVACY_AUTO_MIGRATE: env.bool(false),
  /** Folder of the migrations; empty: beside the built program or apps/privacy/migrations. */
  PRIVACY_MIGRATIONS_DIR: z.string().optional(),
  ...redisEnv,
  /**
   * Key of the subject hashes (HMAC-SHA256 of user ids) of the erasure list and the audit log: one secret shared
   * by every service that reads the list.
   */
  PRIVACY_SUBJECT_KEY: env.string(LOCAL_SUBJECT_KEY),

  /** The app database whose users row the erasure deletes (cdc captures the delete and its cascades); empty: PG_URL. */
  PRIVACY_APP_PG_URL: z.union([z.literal(''), z.url()]).default(''),
  /** Schema of the app tables (users, posts, follows, comments). */
  PRIVACY_APP_SCHEMA: env.identifier('public'),
  /** storage, for EraseUserData (profiles, graph, activity, media); empty: no storage to erase from. */
  STORAGE_GRPC_ADDR: z.string().default(defaultPeerAddress('storage').grpc ?? ''),
  /** feature-store, for DeleteEntity (online features); empty: no feature store to erase from. */
  FEATURES_GRPC_ADDR: z.string().default(defaultPeerAddress('feature-store').grpc ?? ''),
  /** The feature store's entity whose values are users. */
  PRIVACY_FEATURE_ENTITY: env.string('user'),
  /**
   * Redis keys holding a user's data, as glob patterns with `{user}` for the user id: the recommender's live state
   * and its index of the user's posts (RECS_REDIS_PREFIX + `u:{user}:*`, `a:{user}`). Ingest's dedup keys hold event
   * ids only; the feature store's rows go through DeleteEntity.
   */
  PRIVACY_REDIS_USER_KEYS: list('pulse:recs:u:{user}:*,pulse:recs:a:{user}'),
  /**
   * Where other keys name the user, as `<glob pattern>=<rule>`: `member` (a set or sorted-set member that is the user
   * id: another user's muted accounts), `field:<name>` (a hash field holding the user id; the field is removed),
   * `part:<n>` (a string of tab-separated parts whose n-th, from 0, is the user id: a post's author in the
   * recommender's catalogue; the key is removed), `element:<start>` (a list element beginning with `<start>` and
   * ending in `|<user id>`: another user's recent action on the user). Only what a rule names is removed: a user
   * id may be any word, and a post id can equal it.
   */
  PRIVACY_REDIS_REFERENCES: list('pulse:recs:u:*:muted=member,pulse:recs:post:*=part:2,pulse:recs:u:*:acts=element:USER|').transform(
    (entries, ctx) =>
      entries.flatMap((entry) => {
        const reference = parseRedisReference(entry);
        if (reference) return [reference];
        ctx.addIssue({
          code: 'custom',
          message: `"${entry}": expected <glob pattern>=member, =field:<name>, =part:<n> or =element:<start>`,
        });
        return [];
      }),
  ),
  /**
   * Compacted topics keyed by user, as `topic:field` (the key holds `field=<user id>` between `|`, as windowed
   * aggregates do): their keys of the user get tombstones.
   */
  PRIVACY_KAFKA_USER_TOPICS: list('pulse.aggregates.user_actions_1h.v1:user_id,pulse.aggregates.user_sessions.v1:user_id'),
  /** The recommender's model registry (RECS_MODELS_DIR); empty: no registry to scrub. */
  PRIVACY_MODELS_DIR: z.string().default('tmp/models'),

  /** Where the lake lives: `fs` (LAKE_ROOT) or `s3` (LAKE_S3_*), as the etl service writes it; empty root: no lake. */
  LAKE_BACKEND: z.enum(['fs', 's3']).default('fs'),
  LAKE_ROOT: z.string().default('tmp/lake'),
  LAKE_S3_ENDPOINT: z.union([z.literal(''), z.url()]).default(''),
  LAKE_S3_REGION: env.string('us-east-1'),
  LAKE_S3_BUCKET: env.string('pulse-lake'),
  LAKE_S3_PREFIX: z.string().default(''),
  LAKE_S3_ACCESS_KEY_ID: z.string().default(''),
  LAKE_S3_SECRET_ACCESS_KEY: z.string().default(''),
  LAKE_S3_FORCE_PATH_STYLE: env.bool(true),
  /** Memory DuckDB may use while rewriting lake files (DuckDB syntax). */
  LAKE_MEMORY_LIMIT: env.string('1GB'),
  /**
   * The erasure vacuum purges files removed by the erasure's DELETE once they are this old (and the log before a
   * checkpoint): readers still on an older version have this long to finish. Also the lake's share of the maximum
   * time to full erasure.
   */
  PRIVACY_LAKE_PURGE_MIN_AGE: env.duration('1h'),

  /**
   * After every store was erased once, a verification pass erases every store again this much later and counts
   * what it still found (events in flight when the erasure list was published); the job completes after a pass
   * that found nothing.
   */
  PRIVACY_VERIFY_DELAY: env.duration('30s'),
  /** Passes after which a job that keeps finding data is reported (last_error) and retried less often. */
  PRIVACY_MAX_PASSES: env.int(5, 2, 100),
  /** How often a worker looks for jobs to run (new, resumed after a crash, or waiting for the lake's minimum age). */
  PRIVACY_POLL_INTERVAL: env.duration('1s'),
  /** Whether this replica runs erasure jobs (every replica answers the RPCs). */
  PRIVACY_WORKER: env.bool(true),
});

export type PrivacyConfig = z.infer<typeof privacyConfigSchema>;

export const PRIVACY_CONFIG = Symbol('PRIVACY_CONFIG');

export function loadPrivacyConfig(overrides: Record<string, string | undefined> = {}): PrivacyConfig {
  return loadConfig('privacy', privacyConfigSchema, { ...process.env, ...overrides });
}

/** A rule of PRIVACY_REDIS_REFERENCES: the keys (a glob pattern) and what in them names a user. */
export type RedisReference =
  | { pattern: string; kind: 'member' }
  | { pattern: string; kind: 'field'; field: string }
  | { pattern: string; kind: 'part'; part: number }
  | { pattern: string; kind: 'element'; start: string };

export function parseRedisReference(entry: string): RedisReference | undefined {
  const at = entry.lastIndexOf('=');
  if (at <= 0) return undefined;
  const pattern = entry.slice(0, at);
  const rule = entry.slice(at + 1);
  if (rule === 'member') return { pattern, kind: 'member' };
  if (rule.startsWith('field:') && rule.length > 'field:'.length) return { pattern, kind: 'field', field: rule.slice('field:'.length) };
  if (/^part:\d{1,3}$/.test(rule)) return { pattern, kind: 'part', part: Number(rule.slice('part:'.length)) };
  if (rule.startsWith('element:')) return { pattern, kind: 'element', start: rule.slice('element:'.length) };
  return undefined;
}
