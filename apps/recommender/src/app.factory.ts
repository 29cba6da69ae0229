import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { loadRecommenderConfig, type RecommenderConfig } from './config/recommender.config';
import { describeBackend, loadTf } from './tf/tf-backend';

export type RunningApp = Running<RecommenderConfig>;

/**
 * Starts the recommender: TensorFlow.js on the configured backend (logged), then gRPC RecsService (plus
 * health and reflection) and HTTP health/metrics. `main.ts` and the integration tests start it here.
 */
export const createApp = defineService({
  loadConfig: loadRecommenderConfig,
  module: AppModule.forRoot,
  grpc: { package: 'pulse.recs.v1', service: 'RecsService' },
  beforeStart: async (config, logger) => {
    const backend = await loadTf(config.RECS_TF_BACKEND, { intraOpThreads: config.RECS_TF_INTRAOP_THREADS });
    logger.info(
      { backend: backend.backend, nativeVersion: backend.nativeVersion, fallback: backend.fallbackReason },
      describeBackend(backend),
    );
  },
});
