import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { type ConsoleConfig, loadConsoleConfig } from './config/console.config';

export type RunningApp = Running<ConsoleConfig>;

/**
 * Starts the console (HTTP only: its pages, their fragments and JSON, health, metrics). `main.ts` and the tests
 * start it here; tests pass overrides such as `{ HTTP_PORT: '0', INGEST_GRPC_ADDR: '127.0.0.1:40001' }`.
 */
export const createApp = defineService({
  loadConfig: loadConsoleConfig,
  module: AppModule.forRoot,
});
