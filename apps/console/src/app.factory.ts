import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { type ConsoleConfig, loadConsoleConfig } from './config/console.config';

export type RunningApp = Running<ConsoleConfig>;

/**
 * Starts the console service (HTTP only: its routes, health, metrics). `main.ts` and
 * the integration tests both start it here; tests pass overrides such as `{ HTTP_PORT: '0' }`.
 */
export const createApp = defineService({
  loadConfig: loadConsoleConfig,
  module: AppModule.forRoot,
});
