import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { type EtlConfig, loadEtlConfig } from './config/etl.config';

export type RunningApp = Running<EtlConfig>;

/**
 * Starts the etl service: gRPC EtlService (plus health and reflection), HTTP health/metrics, the
 * bronze and aggregate streams over the Delta lake. `main.ts` and the integration tests start it here.
 */
export const createApp = defineService({
  loadConfig: loadEtlConfig,
  module: AppModule.forRoot,
  grpc: { package: 'pulse.etl.v1', service: 'EtlService' },
});
