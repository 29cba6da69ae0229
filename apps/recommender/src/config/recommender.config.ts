import {
  authEnv,
  defaultPeerAddress,
  env,
  kafkaEnv,
  loadConfig,
  LOCAL_SUBJECT_KEY,
  parseDuration,
  redisEnv,
  telemetryEnv,
} from '@pulse/platform';
import { z } from 'zod';
import { parseExposureLossDrill } from '../feedback/exposure-loss-drill';
import { parseActionWeights } from '../live/action-weights';
import { parseRankWeights } from '../candidates/ranker';
import { parseTrainArgs } from '../training/train-args';

/** A duration (`30s`, `10m`, …) where `0` means off. */
const durationOrOff = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = text.trim() === '0' ? 0 : parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected 0 (off) or a duration like 30s, 10m or 1h, got "${text}"` });
        return z.NEVER;
      }
      return ms;
    });

/** Every environment variable of the recommender service; see apps/recommender/.env.example. */
export const recommenderConfigSchema = z.object({
  SERVICE_NAME: env.string('recommender'),
  LOG_LEVEL: env.logLevel(),
  /** Tracing (TRACING_*) and log shipping (LOG_SHIPPING_*), both off by default: see @pulse/platform's telemetryEnv. */
  ...telemetryEnv,
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50056),
  HTTP_PORT: env.port(8086),
  /** Authentication of every RPC (PULSE_AUTH, PULSE_AUTH_*), this service's own PULSE_API_KEY, GRPC_REFLECTION. */
  ...authEnv,
  /** The model registry: versioned artifacts and the promotion state (a volume shared by replicas). */
  RECS_MODELS_DIR: env.string('tmp/models'),
  /** TensorFlow.js backend: auto (native tfjs-node when it loads, else wasm, else cpu), tensorflow, wasm or cpu. */
  RECS_TF_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /**
   * Threads of TensorFlow's intra-op pool (native backend): scoring one user is a dozen small kernels, where a
   * second thread costs more CPU in hand-offs than it saves (tools/bench/recs-serve: 0.84 ms of CPU per
   * Recommend with one thread, 1.26 ms with two). 0 leaves TensorFlow's default, a thread per core.
   */
  RECS_TF_INTRAOP_THREADS: env.int(1, 0, 256),
  /**
   * How often the promotion state is checked for a new promoted version (hot swap): the fallback of the
   * promotion events on pulse.recs.model.v1, which every replica follows within about a second.
   */
  RECS_REGISTRY_POLL: env.duration('30s'),
  /** Prefix of this replica's own consumer group on pulse.recs.model.v1: `<prefix><hostname>-<pid>`. */
  RECS_MODEL_GROUP_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/)
    .default('recommender-model-'),
  /** Most results one request may ask for. */
  RECS_MAX_RESULTS: env.int(500, 1, 10_000),
  /** KAFKA_BROKERS, KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS, KAFKA_DELIVERY_TIMEOUT. */
  ...kafkaEnv,
  /** The live state (users' recent actions) and the post catalogue, shared by every replica. */
  /** REDIS_URL, or REDIS_SENTINELS and REDIS_SENTINEL_MASTER for a Sentinel-managed primary. */
  ...redisEnv,
  /** Prefix of the recommender's Redis keys; tests isolate runs with it. */
  RECS_REDIS_PREFIX: env.string('pulse:recs:'),
  /** storage (the follow graph) and feature-store (engagement features) for candidates and ranking. */
  STORAGE_GRPC_ADDR: env.string(defaultPeerAddress('storage').grpc ?? ''),
  FEATURES_GRPC_ADDR: env.string(defaultPeerAddress('feature-store').grpc ?? ''),
  /** The experiments service, whose running experiments assign users to variants (read, never on the serving path). */
  EXPERIMENTS_GRPC_ADDR: env.string(defaultPeerAddress('experiments').grpc ?? ''),
  /** How often the running experiments are read; 0: no experiments (every user gets the default). */
  RECS_EXPERIMENTS_POLL: env.duration('5s'),
  /** Whether this replica keeps users' recent actions from pulse.activity.tracked.v1 (one group for all replicas). */
  RECS_LIVE_CONSUMER: env.bool(true),
  RECS_LIVE_GROUP: env.string('recommender-live'),
  /** Whether this replica keeps the post catalogue from cdc's posts topic. */
  RECS_CATALOG_CONSUMER: env.bool(true),
  RECS_CATALOG_GROUP: env.string('recommender-catalog-v2'),
  /** Schema of the app database's tables: selects pulse.cdc[.<schema>].posts.v1. */
  RECS_CDC_SCHEMA: env.string('public'),
  /** Recent actions kept per user, and how long the live state of an inactive user lives. */
  RECS_RECENT_ACTIONS: env.int(100, 1, 10_000),
  RECS_ACTIONS_TTL: env.duration('7d'),
  /** How long a hidden post or a muted account stays out of a user's recommendations. */
  RECS_HIDDEN_TTL: env.duration('90d'),
  /** Weight of each action type, `type=weight,...` over the defaults (src/live/action-weights.ts). */
  RECS_ACTION_WEIGHTS: env.parsed('', parseActionWeights),
  /**
   * Fold-in: ridge penalty towards the trained user vector; weight of the penalty on moving every item's score
   * (src/live/fold-in.ts, 0 turns it off); the half-life of an action's weight.
   */
  RECS_FOLD_IN_LAMBDA: z.coerce.number().positive().default(1),
  RECS_FOLD_IN_GRAMIAN: z.coerce.number().nonnegative().default(100),
  RECS_FOLD_IN_HALF_LIFE: env.duration('1d'),
  /** Time each candidate source and the ranking features may take in a Recommend call. */
  RECS_SOURCE_BUDGET: env.duration('100ms'),
  /** Items the model contributes as candidates. */
  RECS_MODEL_CANDIDATES: env.int(200, 1, 10_000),
  /**
   * Worker threads that score a linear model's catalogue for Recommend (src/candidates/scoring-threads.ts), off the
   * thread that answers gRPC; 0 scores in that thread.
   */
  RECS_SCORING_THREADS: env.int(1, 0, 64),
  /** How far back followed accounts' posts, tag-matched posts and trending posts are looked for. */
  RECS_FOLLOWING_WINDOW: env.duration('7d'),
  RECS_CONTENT_WINDOW: env.duration('3d'),
  RECS_TRENDING_WINDOW: env.duration('48h'),
  /** How often the trending list is recomputed from the feature store. */
  RECS_TRENDING_REFRESH: env.duration('15s'),
  /** Weights of the ranking function, `name=weight,...` over the defaults (src/candidates/ranker.ts). */
  RECS_RANK_WEIGHTS: env.parsed('', parseRankWeights),
  /** Key of the subject hashes of the erasure list (pulse.privacy.erasures.v1): the same secret in every service. */
  PRIVACY_SUBJECT_KEY: env.string(LOCAL_SUBJECT_KEY),
  /** Whether every list served is published on pulse.recs.served.v1. */
  RECS_PUBLISH_SERVED: env.bool(true),
  /**
   * A drill, off unless set: `<experiment id>/<variant>=<share>` leaves that share of the variant's users out of
   * pulse.recs.served.v1, so the experiment's sample-ratio-mismatch check can be seen to fail (feedback/exposure-loss-drill.ts).
   */
  RECS_DRILL_LOSE_EXPOSURES: env.parsed('', parseExposureLossDrill),
  /** The lake etl writes (its LAKE_ROOT): `recs train --source lake` reads bronze/activity and bronze/cdc/<schema>.posts there. */
  RECS_LAKE_ROOT: env.string('tmp/lake'),
  /**
   * Scheduled training from the lake: every interval, one replica at a time runs `recs train --source lake --gate`
   * as a child process (README.md, "Training from the lake"). 0: off.
   */
  RECS_TRAIN_INTERVAL: durationOrOff('0'),
  /** The first scheduled run comes this long after the start. */
  RECS_TRAIN_DELAY: env.duration('1m'),
  /** The model and its settings for scheduled runs, as `recs train` flags (space-separated, no quoting). */
  RECS_TRAIN_ARGS: env.parsed('--model ials', parseTrainArgs),
  /** A scheduled run still going after this long is stopped (and counted as failed). */
  RECS_TRAIN_TIMEOUT: env.duration('1h'),
  /** The training lock (train.lock in the registry) is taken over when its holder has not refreshed it for this long. */
  RECS_TRAIN_LOCK_STALE: env.duration('5m'),
});

export type RecommenderConfig = z.infer<typeof recommenderConfigSchema>;

export const RECOMMENDER_CONFIG = Symbol('RECOMMENDER_CONFIG');

export function loadRecommenderConfig(overrides: Record<string, string | undefined> = {}): RecommenderConfig {
  return loadConfig('recommender', recommenderConfigSchema, { ...process.env, ...overrides });
}

/** The variables the `recs` command line reads: the same names, meanings and defaults as the service's. */
export const recsCliConfigSchema = recommenderConfigSchema.pick({
  RECS_MODELS_DIR: true,
  KAFKA_BROKERS: true,
  RECS_LAKE_ROOT: true,
  RECS_CDC_SCHEMA: true,
  RECS_ACTION_WEIGHTS: true,
  // `recs evaluate-loop` runs Recommend's pipeline with the service's settings.
  RECS_FOLD_IN_LAMBDA: true,
  RECS_FOLD_IN_GRAMIAN: true,
  RECS_FOLD_IN_HALF_LIFE: true,
  RECS_MODEL_CANDIDATES: true,
  RECS_FOLLOWING_WINDOW: true,
  RECS_CONTENT_WINDOW: true,
  RECS_TRENDING_WINDOW: true,
  RECS_RANK_WEIGHTS: true,
});

export type RecsCliConfig = z.infer<typeof recsCliConfigSchema>;

export function loadRecsCliConfig(overrides: Record<string, string | undefined> = {}): RecsCliConfig {
  return loadConfig('recs', recsCliConfigSchema, { ...process.env, ...overrides });
}
