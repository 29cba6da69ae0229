import { env, loadConfig } from '@pulse/platform';
import { z } from 'zod';

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
});

export type RecommenderConfig = z.infer<typeof recommenderConfigSchema>;

export const RECOMMENDER_CONFIG = Symbol('RECOMMENDER_CONFIG');

export function loadRecommenderConfig(overrides: Record<string, string | undefined> = {}): RecommenderConfig {
  return loadConfig('recommender', recommenderConfigSchema, { ...process.env, ...overrides });
}
