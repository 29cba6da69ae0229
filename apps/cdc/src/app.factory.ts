import { bootstrapService, createLogger, type RunningService } from '@pulse/platform';
import { AppModule } from './app.module';
import { CaptureService } from './capture/capture.service';
import { type CdcConfig, loadCdcConfig } from './config/cdc.config';

export interface RunningApp extends RunningService {
  config: CdcConfig;
  /** Settles when capture failed for good (e.g. the replication slot disappeared); the process should exit then. */
  failure: Promise<Error>;
}

/**
 * Starts the cdc service (gRPC CdcService, health, reflection, HTTP health/metrics) with the capture from
 * the PostgreSQL slot to Kafka running in the background. `main.ts` and the integration tests both start
 * it here; tests pass overrides such as `{ GRPC_PORT: '0', HTTP_PORT: '0', CDC_SCHEMA: 't_...' }`.
 */
export async function createApp(overrides: Record<string, string | undefined> = {}): Promise<RunningApp> {
  const config = loadCdcConfig(overrides);
  const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL);
  const running = await bootstrapService({
    module: AppModule.forRoot(config, logger),
    logger,
    grpcHost: config.GRPC_HOST,
    grpcPort: config.GRPC_PORT,
    httpPort: config.HTTP_PORT,
    grpc: {
      packages: ['pulse.cdc.v1'],
      protoFiles: ['pulse/cdc/v1/cdc_service.proto'],
      serviceNames: ['pulse.cdc.v1.CdcService'],
    },
  });
  return { ...running, config, failure: running.app.get(CaptureService).failure };
}
