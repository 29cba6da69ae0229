import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { type LogsConfig, loadLogsConfig } from './config/logs.config';

export type RunningApp = Running<LogsConfig>;

/**
 * Starts the logs service (gRPC LogsService, health, reflection, HTTP health/metrics). `main.ts` and
 * the integration tests both start it here; tests pass overrides such as `{ GRPC_PORT: '0', HTTP_PORT: '0' }`.
 */
export const createApp = defineService({
  loadConfig: loadLogsConfig,
  module: AppModule.forRoot,
  grpc: { package: 'pulse.logs.v1', service: 'LogsService' },
});
