import { bootstrapService, createLogger, type RunningService } from '@pulse/platform';
import { AppModule } from './app.module';
import { loadEtlConfig, type EtlConfig } from './config/etl.config';

export interface RunningApp extends RunningService {
  config: EtlConfig;
}

/**
 * Starts the etl service: gRPC EtlService (plus health and reflection), HTTP health/metrics, the
 * bronze and aggregate streams over the Delta lake. `main.ts` and the integration tests start it here.
 */
export async function createApp(overrides: Record<string, string | undefined> = {}): Promise<RunningApp> {
  const config = loadEtlConfig(overrides);
  const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL);
  const running = await bootstrapService({
    module: AppModule.forRoot(config, logger),
    logger,
    grpcHost: config.GRPC_HOST,
    grpcPort: config.GRPC_PORT,
    httpPort: config.HTTP_PORT,
    grpc: {
      packages: ['pulse.etl.v1'],
      protoFiles: ['pulse/etl/v1/etl_service.proto'],
      serviceNames: ['pulse.etl.v1.EtlService'],
    },
  });
  return { ...running, config };
}
