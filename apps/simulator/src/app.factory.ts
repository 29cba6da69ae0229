import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { type SimulatorConfig, loadSimulatorConfig } from './config/simulator.config';

export type RunningApp = Running<SimulatorConfig>;

/**
 * Starts the simulator service (gRPC SimulatorService, health, reflection, HTTP health/metrics). `main.ts` and the
 * integration tests both start it here; tests pass overrides such as `{ GRPC_PORT: '0', HTTP_PORT: '0' }`.
 */
export const createApp = defineService({
  loadConfig: loadSimulatorConfig,
  module: AppModule.forRoot,
  grpc: { package: 'pulse.simulator.v1', service: 'SimulatorService' },
});
