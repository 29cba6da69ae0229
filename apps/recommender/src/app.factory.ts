import { bootstrapService, createLogger, type RunningService } from '@pulse/platform';
import { AppModule } from './app.module';
import { loadRecommenderConfig, type RecommenderConfig } from './config/recommender.config';
import { describeBackend, loadTf } from './tf/tf-backend';

export interface RunningApp extends RunningService {
  config: RecommenderConfig;
}

/**
 * Starts the recommender: TensorFlow.js on the configured backend (logged), then gRPC RecsService (plus
 * health and reflection) and HTTP health/metrics. `main.ts` and the integration tests start it here.
 */
export async function createApp(overrides: Record<string, string | undefined> = {}): Promise<RunningApp> {
  const config = loadRecommenderConfig(overrides);
  const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL);
  const backend = await loadTf(config.RECS_TF_BACKEND, { intraOpThreads: config.RECS_TF_INTRAOP_THREADS });
  logger.info(
    { backend: backend.backend, nativeVersion: backend.nativeVersion, fallback: backend.fallbackReason },
    describeBackend(backend),
  );
  const running = await bootstrapService({
    module: AppModule.forRoot(config, logger),
    logger,
    grpcHost: config.GRPC_HOST,
    grpcPort: config.GRPC_PORT,
    httpPort: config.HTTP_PORT,
    grpc: {
      packages: ['pulse.recs.v1'],
      protoFiles: ['pulse/recs/v1/recs_service.proto'],
      serviceNames: ['pulse.recs.v1.RecsService'],
    },
  });
  return { ...running, config };
}
