import { bootstrapService, createLogger, type RunningService } from '@pulse/platform';
import { AppModule } from './app.module';
import { loadStorageConfig, type StorageConfig } from './config/storage.config';

export interface RunningApp extends RunningService {
  config: StorageConfig;
}

/**
 * Starts the storage service: gRPC StorageService (plus health and reflection), HTTP health/metrics, the
 * activity and CDC consumers. `main.ts` and the integration tests start it here.
 */
export async function createApp(overrides: Record<string, string | undefined> = {}): Promise<RunningApp> {
  const config = loadStorageConfig(overrides);
  const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL);
  const running = await bootstrapService({
    module: AppModule.forRoot(config, logger),
    logger,
    grpcHost: config.GRPC_HOST,
    grpcPort: config.GRPC_PORT,
    httpPort: config.HTTP_PORT,
    grpc: {
      packages: ['pulse.storage.v1'],
      protoFiles: ['pulse/storage/v1/storage_service.proto'],
      serviceNames: ['pulse.storage.v1.StorageService'],
    },
  });
  return { ...running, config };
}
