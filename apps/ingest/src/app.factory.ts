import { bootstrapService, createLogger, type RunningService } from '@pulse/platform';
import { AppModule } from './app.module';
import { type IngestConfig, loadIngestConfig } from './config/ingest.config';

export interface RunningApp extends RunningService {
  config: IngestConfig;
}

/**
 * Starts the ingest service (gRPC IngestService, health, reflection, HTTP health/metrics). `main.ts` and
 * the integration tests both start it here; tests pass overrides such as `{ GRPC_PORT: '0', HTTP_PORT: '0' }`.
 */
export async function createApp(overrides: Record<string, string | undefined> = {}): Promise<RunningApp> {
  const config = loadIngestConfig(overrides);
  const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL);
  const running = await bootstrapService({
    module: AppModule.forRoot(config, logger),
    logger,
    grpcHost: config.GRPC_HOST,
    grpcPort: config.GRPC_PORT,
    httpPort: config.HTTP_PORT,
    grpc: {
      packages: ['pulse.ingest.v1'],
      protoFiles: ['pulse/ingest/v1/ingest_service.proto'],
      serviceNames: ['pulse.ingest.v1.IngestService'],
    },
  });
  return { ...running, config };
}
