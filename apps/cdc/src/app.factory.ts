import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { CaptureCoordinatorService } from './capture/capture-coordinator.service';
import { type CdcConfig, loadCdcConfig } from './config/cdc.config';

export interface RunningApp extends Running<CdcConfig> {
  /** Settles when capture failed for good (e.g. the replication slot disappeared); the process should exit then. */
  failure: Promise<Error>;
}

const start = defineService({
  loadConfig: loadCdcConfig,
  module: AppModule.forRoot,
  grpc: { package: 'pulse.cdc.v1', service: 'CdcService' },
});

/**
 * Starts the cdc service (gRPC CdcService, health, reflection, HTTP health/metrics) with the capture from
 * the PostgreSQL slot to Kafka running in the background. `main.ts` and the integration tests both start
 * it here; tests pass overrides such as `{ GRPC_PORT: '0', HTTP_PORT: '0', CDC_SCHEMA: 't_...' }`.
 */
export async function createApp(overrides: Record<string, string | undefined> = {}): Promise<RunningApp> {
  const running = await start(overrides);
  return { ...running, failure: running.app.get(CaptureCoordinatorService).failure };
}
