import { env, loadConfig, LOCAL_SUBJECT_KEY } from '@pulse/platform';
import { z } from 'zod';
import { parseActionWeights } from '../live/action-weights';
import { parseRankWeights } from '../candidates/ranker';

/** Every environment variable of the recommender service; see apps/recommender/.env.example. */
export const recommenderConfigSchema = z.object({
  SERVICE_NAME: env.string('recommender'),
  LOG_LEVEL: env.logLevel(),
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50056),
  HTTP_PORT: env.port(8086),
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
  /** How often the promotion state is checked for a new promoted version (hot swap). */
  RECS_REGISTRY_POLL: env.duration('2s'),
  /** Most results one request may ask for. */
  RECS_MAX_RESULTS: env.int(500, 1, 10_000),
  KAFKA_BROKERS: env.hostList('127.0.0.1:29092'),
  /** The live state (users' recent actions) and the post catalogue, shared by every replica. */
  REDIS_URL: env.url('redis://127.0.0.1:26379'),
  /** Prefix of the recommender's Redis keys; tests isolate runs with it. */
  RECS_REDIS_PREFIX: env.string('pulse:recs:'),
  /** storage (the follow graph) and feature-store (engagement features) for candidates and ranking. */
  STORAGE_GRPC_ADDR: env.string('127.0.0.1:50053'),
  FEATURES_GRPC_ADDR: env.string('127.0.0.1:50055'),
  /** Whether this replica keeps users' recent actions from pulse.activity.tracked.v1 (one group for all replicas). */
  RECS_LIVE_CONSUMER: env.bool(true),
  RECS_LIVE_GROUP: env.string('recommender-live'),
  /** Whether this replica keeps the post catalogue from cdc's posts topic. */
  RECS_CATALOG_CONSUMER: env.bool(true),
  RECS_CATALOG_GROUP: env.string('recommender-catalog'),
  /** Schema of the app database's tables: selects pulse.cdc[.<schema>].posts.v1. */
  RECS_CDC_SCHEMA: env.string('public'),
  /** Recent actions kept per user, and how long the live state of an inactive user lives. */
  RECS_RECENT_ACTIONS: env.int(100, 1, 10_000),
  RECS_ACTIONS_TTL: env.duration('7d'),
  /** How long a hidden post or a muted account stays out of a user's recommendations. */
  RECS_HIDDEN_TTL: env.duration('90d'),
  /** Weight of each action type, `type=weight,...` over the defaults (src/live/action-weights.ts). */
  RECS_ACTION_WEIGHTS: env.parsed('', parseActionWeights),
  /** Fold-in: ridge penalty towards the trained user vector, and the half-life of an action's weight. */
  RECS_FOLD_IN_LAMBDA: z.coerce.number().positive().default(1),
  RECS_FOLD_IN_HALF_LIFE: env.duration('1d'),
  /** Time each candidate source and the ranking features may take in a Recommend call. */
  RECS_SOURCE_BUDGET: env.duration('100ms'),
  /** Items the model contributes as candidates. */
  RECS_MODEL_CANDIDATES: env.int(200, 1, 10_000),
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
});

export type RecommenderConfig = z.infer<typeof recommenderConfigSchema>;

export const RECOMMENDER_CONFIG = Symbol('RECOMMENDER_CONFIG');

export function loadRecommenderConfig(overrides: Record<string, string | undefined> = {}): RecommenderConfig {
  return loadConfig('recommender', recommenderConfigSchema, { ...process.env, ...overrides });
}
