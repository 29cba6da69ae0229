import { bootstrapService, createLogger, type RunningService } from '@pulse/platform';
import { AppModule } from './app.module';
import { type FeatureStoreConfig, loadFeatureStoreConfig } from './config/feature-store.config';

export interface RunningApp extends RunningService {
  config: FeatureStoreConfig;
}

/**
 * Starts the feature store: gRPC FeaturesService (plus health and reflection), HTTP health/metrics and
 * the aggregates consumer. `main.ts` and the integration tests start it here.
 */
export async function createApp(overrides: Record<string, string | undefined> = {}): Promise<RunningApp> {
  const config = loadFeatureStoreConfig(overrides);
  const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL);
  const running = await bootstrapService({
    module: AppModule.forRoot(config, logger),
    logger,
    grpcHost: config.GRPC_HOST,
    grpcPort: config.GRPC_PORT,
    httpPort: config.HTTP_PORT,
    grpc: {
      packages: ['pulse.features.v1'],
      protoFiles: ['pulse/features/v1/features_service.proto'],
      serviceNames: ['pulse.features.v1.FeaturesService'],
    },
  });
  return { ...running, config };
}
