import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { type AnalyticsConfig, loadAnalyticsConfig } from './config/analytics.config';

export type RunningApp = Running<AnalyticsConfig>;

/**
 * Starts the analytics service (gRPC AnalyticsService, health, reflection, HTTP health/metrics). `main.ts` and the
 * integration tests both start it here; tests pass overrides such as `{ GRPC_PORT: '0', HTTP_PORT: '0' }`.
 */
export const createApp = defineService({
  loadConfig: loadAnalyticsConfig,
  module: AppModule.forRoot,
  grpc: { package: 'pulse.analytics.v1', service: 'AnalyticsService' },
});
