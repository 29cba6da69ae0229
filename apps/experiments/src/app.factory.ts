import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { type ExperimentsConfig, loadExperimentsConfig } from './config/experiments.config';

export type RunningApp = Running<ExperimentsConfig>;

/**
 * Starts the experiments service (gRPC ExperimentsService, health, reflection, HTTP health/metrics). `main.ts` and the
 * integration tests both start it here; tests pass overrides such as `{ GRPC_PORT: '0', HTTP_PORT: '0' }`.
 */
export const createApp = defineService({
  loadConfig: loadExperimentsConfig,
  module: AppModule.forRoot,
  grpc: { package: 'pulse.experiments.v1', service: 'ExperimentsService' },
});
