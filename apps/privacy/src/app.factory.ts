import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { type PrivacyConfig, loadPrivacyConfig } from './config/privacy.config';

export type RunningApp = Running<PrivacyConfig>;

/**
 * Starts the privacy service (gRPC PrivacyService, health, reflection, HTTP health/metrics). `main.ts` and the
 * integration tests both start it here; tests pass overrides such as `{ GRPC_PORT: '0', HTTP_PORT: '0' }`.
 */
export const createApp = defineService({
  loadConfig: loadPrivacyConfig,
  module: AppModule.forRoot,
  grpc: { package: 'pulse.privacy.v1', service: 'PrivacyService' },
});
